//! SARIF 2.1.0: for code-scanning tools (GitHub, Azure DevOps, IDEs).
//!
//! SARIF is the OASIS standard format for static-analysis results; writing
//! it lets a Covenant run land where teams already triage alerts. The log
//! has one run:
//!
//! - each rule is one `reportingDescriptor` whose id is the policy's rule
//!   id, so tools track it across runs, with a `security-severity` GitHub
//!   can rank;
//! - each finding is a `result` pointing at the event's line in the input
//!   log (or its array element, or its event id for standard input), with a
//!   fingerprint built from the rule, the event and the message, so the
//!   same finding is recognised run after run;
//! - waived findings carry an accepted suppression instead of
//!   disappearing, and rules that could not finish are tool execution
//!   notifications, so the log never claims a clean run it did not have.
//!
//! The log is built from small structs whose fields serialise in
//! declaration order, so the same report always gives the same bytes.

use std::borrow::Cow;

use serde::Serialize;

use crate::events::Timestamp;
use crate::policy::{Severity, sha256_hex};
use crate::report::{FindingReport, Report, RuleReport, Status};

/// Where the SARIF 2.1.0 schema is published.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF version written.
const VERSION: &str = "2.1.0";

/// The name the event reader gives standard input, which has no file.
const STDIN: &str = "<stdin>";

/// The `sarifLog` object: the whole file.
#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

/// The one `run`: what ran, over what, and what it found.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation<'a>; 1],
    artifacts: Vec<Artifact<'a>>,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

/// The `tool`: Covenant is the driver; plugins are not separate tool
/// components because the policy, not the plugin, names each rule.
#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

/// The `toolComponent` that produced the results.
#[derive(Serialize)]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    rules: Vec<Descriptor<'a>>,
}

/// A rule as a `reportingDescriptor`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Text<'a>,
    full_description: Text<'a>,
    help: Text<'a>,
    default_configuration: Configuration,
    properties: DescriptorProperties<'a>,
}

/// A `message` or `multiformatMessageString` with plain text only.
#[derive(Serialize)]
struct Text<'a> {
    text: Cow<'a, str>,
}

impl<'a> Text<'a> {
    /// Text borrowed from the report.
    fn borrowed(text: &'a str) -> Text<'a> {
        Text {
            text: Cow::Borrowed(text),
        }
    }

    /// Text composed for the log.
    fn owned(text: String) -> Text<'a> {
        Text {
            text: Cow::Owned(text),
        }
    }
}

/// A `reportingConfiguration`: only the level is configured.
#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

/// A descriptor's property bag: severity for GitHub, controls as tags, and
/// the rule's status and plugin so a reader can trust the verdict.
#[derive(Serialize)]
struct DescriptorProperties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<&'static str>,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
    tags: Vec<&'a str>,
    status: &'static str,
    plugin: Plugin<'a>,
}

/// Which plugin ran a rule; the parts known only once it loaded are left
/// out when it never did.
#[derive(Serialize)]
struct Plugin<'a> {
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
}

/// A finding as a `result`. (Named so as not to shadow `std`'s `Result`.)
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text<'a>,
    locations: [Location<'a>; 1],
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression<'a>>,
    properties: ResultProperties<'a>,
}

/// Where a finding is: a place in a file, or for standard input the event
/// itself with a note of its line.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text<'a>>,
}

/// A `physicalLocation`: the input file, and the line for JSON Lines.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

/// An `artifactLocation`: a URI reference, and the artifact's index in the
/// run's `artifacts` when it is there.
#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

/// A `region`: only whole lines are reported.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u64,
}

/// A `logicalLocation`: the event, named by its id.
#[derive(Serialize)]
struct LogicalLocation<'a> {
    name: &'a str,
    kind: &'static str,
}

/// A result's `partialFingerprints`. The key's version is bumped if what
/// the fingerprint covers ever changes.
#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "covenantFinding/v1")]
    finding: String,
}

/// A `suppression`: the waiver that accepted a finding.
#[derive(Serialize)]
struct Suppression<'a> {
    kind: &'static str,
    status: &'static str,
    justification: &'a str,
    properties: SuppressionProperties<'a>,
}

/// Who accepted a waived finding, and until when.
#[derive(Serialize)]
struct SuppressionProperties<'a> {
    waiver: &'a str,
    approver: &'a str,
    expires: &'a str,
}

/// A result's property bag: the event the finding is about.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    event_id: &'a str,
    time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_id: Option<&'a str>,
    /// The 1-based element of a `.json` array input, which has no line.
    #[serde(skip_serializing_if = "Option::is_none")]
    array_element: Option<u64>,
}

/// An input log as an `artifact`, with the digest of the bytes read.
#[derive(Serialize)]
struct Artifact<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<ArtifactLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<Text<'a>>,
    roles: [&'static str; 1],
    hashes: Hashes<'a>,
    properties: ArtifactProperties,
}

/// An artifact's `hashes`.
#[derive(Serialize)]
struct Hashes<'a> {
    #[serde(rename = "sha-256")]
    sha256: &'a str,
}

/// How an input was read and how much of it was checked.
#[derive(Serialize)]
struct ArtifactProperties {
    format: &'static str,
    events: u64,
    rejected: u64,
}

/// The one `invocation`: whether every rule ran to the end.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification<'a>>,
}

/// A rule that could not finish, or a subject a rule could not assess, as
/// a `notification`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    level: &'static str,
    message: Text<'a>,
    descriptor: Reference<'a>,
    associated_rule: Reference<'a>,
}

/// A `reportingDescriptorReference`.
#[derive(Serialize)]
struct Reference<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

/// The run's property bag: what makes the run repeatable.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    report_schema: &'a str,
    as_of: Option<Timestamp>,
    policy: PolicyProperties<'a>,
    compliant: bool,
    redacted_fields: &'a [String],
}

/// Which policy was applied.
#[derive(Serialize)]
struct PolicyProperties<'a> {
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<&'a str>,
    source: &'a str,
    sha256: &'a str,
}

/// Renders `report` as a pretty-printed SARIF 2.1.0 log with a trailing
/// newline.
pub(super) fn render(report: &Report) -> String {
    let log = Log {
        schema: SCHEMA_URI,
        version: VERSION,
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "Covenant",
                    version: &report.covenant_version,
                    rules: report.rules.iter().map(descriptor).collect(),
                },
            },
            invocations: [invocation(report)],
            artifacts: artifacts(report),
            results: results(report),
            properties: RunProperties {
                report_schema: &report.schema,
                as_of: report.as_of,
                policy: PolicyProperties {
                    title: &report.policy.title,
                    document: report.policy.document.as_deref(),
                    source: &report.policy.source,
                    sha256: &report.policy.sha256,
                },
                compliant: report.summary.compliant,
                redacted_fields: &report.redacted,
            },
        }],
    };
    let mut text = serde_json::to_string_pretty(&log).expect("a SARIF log always serialises");
    text.push('\n');
    text
}

/// A rule as a `reportingDescriptor`.
fn descriptor(rule: &RuleReport) -> Descriptor<'_> {
    // Tags must be distinct; a policy may list a control twice.
    let mut tags: Vec<&str> = Vec::with_capacity(rule.controls.len());
    for control in &rule.controls {
        if !tags.contains(&control.as_str()) {
            tags.push(control);
        }
    }
    let help = if tags.is_empty() {
        Text::borrowed(&rule.commitment)
    } else {
        Text::owned(format!(
            "{}\n\nControls: {}",
            rule.commitment,
            tags.join(", ")
        ))
    };
    Descriptor {
        id: &rule.id,
        name: &rule.id,
        short_description: Text::borrowed(rule.description.as_deref().unwrap_or(&rule.commitment)),
        full_description: Text::borrowed(&rule.commitment),
        help,
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: DescriptorProperties {
            severity: rule.severity.map(Severity::as_str),
            security_severity: rule.severity.map(security_severity),
            tags,
            status: rule.status.as_str(),
            plugin: Plugin {
                source: &rule.plugin.source,
                name: rule.plugin.name.as_deref(),
                version: rule.plugin.version.as_deref(),
                sha256: rule.plugin.sha256.as_deref(),
            },
        },
    }
}

/// Every finding as a `result`, rule by rule in policy order.
fn results(report: &Report) -> Vec<SarifResult<'_>> {
    report
        .rules
        .iter()
        .enumerate()
        .flat_map(|(index, rule)| {
            rule.findings
                .iter()
                .map(move |finding| result(report, index, rule, finding))
        })
        .collect()
}

/// One finding as a `result` of the rule at `index`.
fn result<'a>(
    report: &'a Report,
    index: usize,
    rule: &'a RuleReport,
    finding: &'a FindingReport,
) -> SarifResult<'a> {
    SarifResult {
        rule_id: &rule.id,
        rule_index: index,
        level: level(rule.severity),
        message: Text::borrowed(&finding.message),
        locations: [location(report, finding)],
        partial_fingerprints: Fingerprints {
            finding: fingerprint(&rule.id, finding),
        },
        suppressions: finding
            .waived
            .iter()
            .map(|waived| Suppression {
                kind: "external",
                status: "accepted",
                justification: &waived.reason,
                properties: SuppressionProperties {
                    waiver: &waived.waiver,
                    approver: &waived.approver,
                    expires: &waived.expires,
                },
            })
            .collect(),
        properties: ResultProperties {
            event_id: &finding.event_id,
            time: finding.time,
            tenant: finding.tenant.as_deref(),
            data_id: finding.data_id.as_deref(),
            array_element: finding.element,
        },
    }
}

/// Where a finding is. A file input gives its URI and, for JSON Lines, the
/// line; standard input has no file, so the event is named instead, with
/// its line in the location's message.
fn location<'a>(report: &'a Report, finding: &'a FindingReport) -> Location<'a> {
    if finding.file == STDIN {
        let place = match finding.line {
            Some(line) => format!("standard input, line {line}"),
            None => "standard input".to_string(),
        };
        return Location {
            physical_location: None,
            logical_locations: vec![LogicalLocation {
                name: &finding.event_id,
                kind: "object",
            }],
            message: Some(Text::owned(place)),
        };
    }
    Location {
        physical_location: Some(PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: uri(&finding.file),
                index: report
                    .inputs
                    .iter()
                    .position(|input| input.name == finding.file),
            },
            region: finding.line.map(|line| Region { start_line: line }),
        }),
        logical_locations: Vec::new(),
        message: None,
    }
}

/// The stable fingerprint of a finding: hex SHA-256 of the rule id, event
/// id and message, newline-separated. It does not depend on the file name
/// or line, so a finding keeps it when logs are split or reordered.
fn fingerprint(rule: &str, finding: &FindingReport) -> String {
    sha256_hex(format!("{rule}\n{}\n{}", finding.event_id, finding.message).as_bytes())
}

/// Every input as an `artifact`, in the order read.
fn artifacts(report: &Report) -> Vec<Artifact<'_>> {
    report
        .inputs
        .iter()
        .map(|input| {
            let stdin = input.name == STDIN;
            Artifact {
                location: (!stdin).then(|| ArtifactLocation {
                    uri: uri(&input.name),
                    index: None,
                }),
                description: stdin.then(|| Text::borrowed("standard input")),
                roles: ["analysisTarget"],
                hashes: Hashes {
                    sha256: &input.sha256,
                },
                properties: ArtifactProperties {
                    format: input.format.as_str(),
                    events: input.events,
                    rejected: input.rejected,
                },
            }
        })
        .collect()
}

/// The run's `invocation`: it succeeded only if no rule errored, and each
/// rule that did is an error notification naming it. Each subject a rule
/// could not assess is a `note` notification: neither a result (nothing
/// was found) nor a failure of the run.
fn invocation(report: &Report) -> Invocation<'_> {
    let mut notifications: Vec<Notification<'_>> = Vec::new();
    for (index, rule) in report.rules.iter().enumerate() {
        if rule.status == Status::Error {
            let error = rule.error.as_deref().unwrap_or("the rule could not finish");
            notifications.push(notification(index, rule, "error", Text::borrowed(error)));
        }
    }
    let successful = notifications.is_empty();
    for (index, rule) in report.rules.iter().enumerate() {
        for item in &rule.unassessable {
            let message = format!(
                "Not assessable from this log: {}: {}",
                item.subject, item.reason
            );
            notifications.push(notification(index, rule, "note", Text::owned(message)));
        }
    }
    Invocation {
        execution_successful: successful,
        tool_execution_notifications: notifications,
    }
}

/// A notification about rule `index` of the run.
fn notification<'a>(
    index: usize,
    rule: &'a RuleReport,
    level: &'static str,
    message: Text<'a>,
) -> Notification<'a> {
    Notification {
        level,
        message,
        // The descriptor names the rule by id only: an index here would
        // point into the driver's notification descriptors, which this log
        // has none of. The associated rule carries the index.
        descriptor: Reference {
            id: &rule.id,
            index: None,
        },
        associated_rule: Reference {
            id: &rule.id,
            index: Some(index),
        },
    }
}

/// SARIF's level for a severity: what code-scanning tools colour and gate
/// on. A rule whose severity is unknown never loaded, so it is an error.
fn level(severity: Option<Severity>) -> &'static str {
    match severity {
        Some(Severity::Critical | Severity::High) | None => "error",
        Some(Severity::Medium) => "warning",
        Some(Severity::Low | Severity::Info) => "note",
    }
}

/// The CVSS-like score GitHub code scanning reads from `security-severity`
/// to rank alerts (9.0 and up is critical, 7.0 high, 4.0 medium, above 0
/// low).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A file name as a URI reference. A relative name stays relative, with
/// `/` separators and every byte outside the unreserved set
/// percent-encoded, so spaces, `#` and `:` survive; an absolute path
/// becomes a `file:` URI.
fn uri(name: &str) -> String {
    let name = name.replace('\\', "/");
    let bytes = name.as_bytes();
    if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/' {
        // A Windows drive path: the drive's colon is part of the path.
        return format!("file:///{}:{}", &name[..1], encode(&name[2..]));
    }
    if name.starts_with("//") {
        // A UNC path: its first segment is the host.
        return format!("file:{}", encode(&name));
    }
    if name.starts_with('/') {
        return format!("file://{}", encode(&name));
    }
    encode(&name)
}

/// Percent-encodes every byte of `path` except unreserved characters and
/// `/`.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_file_names_stay_relative_uri_references() {
        assert_eq!(uri("logs/a b#1.jsonl"), "logs/a%20b%231.jsonl");
        assert_eq!(uri("../examples/ü.jsonl"), "../examples/%C3%BC.jsonl");
        assert_eq!(uri("logs\\day 1.jsonl"), "logs/day%201.jsonl");
        // A colon in the first segment would read as a URI scheme.
        assert_eq!(uri("a:b.jsonl"), "a%3Ab.jsonl");
    }

    #[test]
    fn absolute_paths_become_file_uris() {
        assert_eq!(uri("/var/log/a b.jsonl"), "file:///var/log/a%20b.jsonl");
        assert_eq!(uri("C:\\logs\\a.jsonl"), "file:///C:/logs/a.jsonl");
        assert_eq!(
            uri("\\\\server\\share\\a.jsonl"),
            "file://server/share/a.jsonl"
        );
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Some(Severity::Critical)), "error");
        assert_eq!(level(Some(Severity::High)), "error");
        assert_eq!(level(Some(Severity::Medium)), "warning");
        assert_eq!(level(Some(Severity::Low)), "note");
        assert_eq!(level(Some(Severity::Info)), "note");
        assert_eq!(level(None), "error");
    }
}
