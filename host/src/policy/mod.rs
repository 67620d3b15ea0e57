//! Policies: which rules to run, with which plugin, configuration and limits.
//!
//! A policy is a TOML file. Each `[[rule]]` names a plugin (`builtin:NAME`
//! or a path to a `.wasm` component, relative to the policy file), quotes the
//! commitment it checks, and carries the rule's `config` table, which the
//! plugin receives as JSON. `policies/defender-for-cloud.toml` is the default
//! and is embedded in the binary, with the [`builtin`] plugins it names.
//! A policy also carries the [`waivers`] in force and the fields to
//! [`redact`].
//!
//! It may import [`crate::events`] only: it says what runs, and nothing
//! about how.

pub mod builtin;
pub mod redact;
pub mod waivers;

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::policy::redact::RedactField;
use crate::policy::waivers::{Waiver, WaiverEntry, check_waiver_rules, parse_waivers};

/// The default policy's text, embedded so the binary needs no other files.
pub const DEFAULT_POLICY: &str = include_str!("../../../policies/defender-for-cloud.toml");

/// What `--policy` was: shown in the report's provenance.
pub const DEFAULT_POLICY_NAME: &str = "builtin:defender-for-cloud";

/// A loaded, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy's title, from its `[policy]` table.
    pub title: String,
    /// The document whose commitments the policy checks.
    pub document: Option<String>,
    /// Where it came from: a path, or [`DEFAULT_POLICY_NAME`].
    pub source: String,
    /// Hex SHA-256 of the policy file's bytes.
    pub sha256: String,
    /// The rules to run, in the order the policy lists them; their ids are unique.
    pub rules: Vec<RuleSpec>,
    /// Every paragraph of the source document, with what checks it.
    pub coverage: Vec<Coverage>,
    /// Accepted exceptions from the policy's `[[waiver]]` entries.
    pub waivers: Vec<Waiver>,
    /// Event fields whose values `--redact` replaces with stable hashes.
    pub redact: Vec<RedactField>,
}

/// One paragraph of the source document and how the policy covers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// The paragraph, quoted.
    pub text: String,
    /// The rules that check it; empty when logs cannot show it.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Why logs cannot show it, or what part of it no rule checks.
    pub note: Option<String>,
}

/// One rule of a policy.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// The rule's id in the report; defaults to the plugin's name.
    pub id: String,
    /// The plugin that implements the rule: a built-in one or a `.wasm` file.
    pub plugin: PluginRef,
    /// Hex SHA-256 the plugin's bytes must have, if the policy pins one.
    pub sha256: Option<String>,
    /// The commitment this rule checks, quoted from the source document.
    pub commitment: String,
    /// The rule's configuration, handed to the plugin as JSON text.
    pub config: serde_json::Value,
    /// The sandbox limits the plugin runs under, from the rule's `limits` table.
    pub limits: Limits,
    /// Overrides the plugin's own default severity.
    pub severity: Option<Severity>,
    /// The framework controls the rule supports, e.g. `GDPR Art. 5(1)(e)`.
    pub controls: Vec<String>,
}

/// How serious a breach is. Ordered: `Info` is the lowest.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    serde::Serialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The lowest: for information; SARIF level `note`.
    Info,
    /// A minor breach; SARIF level `note`.
    Low,
    /// A moderate breach; SARIF level `warning`.
    Medium,
    /// A serious breach; SARIF level `error`.
    High,
    /// The highest: a breach to act on at once; SARIF level `error`.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name policies and reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a rule's plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginRef {
    /// One of the plugins embedded in the binary, by name.
    Builtin(String),
    /// A `.wasm` component on disk.
    File(PathBuf),
}

impl PluginRef {
    /// Reads `builtin:NAME`, or a path to a component relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<PluginRef> {
        match text.strip_prefix("builtin:") {
            Some("") => bail!("`builtin:` needs a plugin name"),
            Some(name) => Ok(PluginRef::Builtin(name.to_string())),
            None => Ok(PluginRef::File(base.join(text))),
        }
    }

    /// The plugin's bytes, or why they cannot be had.
    pub fn read(&self) -> Result<Cow<'static, [u8]>, String> {
        match self {
            PluginRef::Builtin(name) => crate::policy::builtin::plugin(name)
                .map(Cow::Borrowed)
                .ok_or_else(|| {
                    let known = crate::policy::builtin::names().join(", ");
                    format!("no built-in plugin named `{name}` (there are: {known})")
                }),
            PluginRef::File(path) => std::fs::read(path)
                .map(Cow::Owned)
                .map_err(|e| format!("cannot read plugin {}: {e}", path.display())),
        }
    }
}

impl std::fmt::Display for PluginRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginRef::Builtin(name) => write!(f, "builtin:{name}"),
            PluginRef::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The sandbox limits of one rule. Each call into the plugin (constructor,
/// `observe`, `finish`) gets a fresh CPU budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory the plugin may grow to, in MiB.
    pub memory_mib: u64,
    /// Wasm fuel per call: about one unit per instruction executed, so the
    /// default stops a runaway call after a few seconds of CPU.
    pub fuel_per_call: u64,
    /// Findings the rule may report in the whole run.
    pub max_findings: u64,
    /// Bytes a finding's message (or its event id) may have.
    pub max_message_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 256,
            fuel_per_call: 5_000_000_000,
            max_findings: 100_000,
            max_message_bytes: 4_096,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy: PolicyHeader,
    #[serde(default)]
    rule: Vec<RuleEntry>,
    #[serde(default)]
    coverage: Vec<Coverage>,
    #[serde(default)]
    waiver: Vec<WaiverEntry>,
    #[serde(default)]
    redact: Option<RedactTable>,
    /// Values several rules' configurations share, each written once:
    /// a rule's `config` takes one as `key = { shared = "name" }`.
    #[serde(default)]
    shared: toml::Table,
}

/// `[redact]`: which event fields `--redact` hides.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactTable {
    fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyHeader {
    title: String,
    #[serde(default)]
    document: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: Option<String>,
    plugin: String,
    sha256: Option<String>,
    commitment: String,
    #[serde(default)]
    config: Option<toml::Table>,
    #[serde(default)]
    limits: Limits,
    severity: Option<Severity>,
    #[serde(default)]
    controls: Vec<String>,
}

impl Policy {
    /// The coverage map as text: each paragraph under the rules that check it.
    pub fn coverage_text(&self) -> String {
        let checked = self.coverage.iter().filter(|c| !c.rules.is_empty()).count();
        let mut out = format!(
            "Coverage of {} by {}\n{} paragraphs: {checked} checked by rules, {} that logs cannot show.\n",
            self.document.as_deref().unwrap_or("the source document"),
            self.source,
            self.coverage.len(),
            self.coverage.len() - checked
        );
        for paragraph in &self.coverage {
            let by = if paragraph.rules.is_empty() {
                "not checkable".to_string()
            } else {
                paragraph.rules.join(", ")
            };
            out.push_str(&format!("\n[{by}] {}\n", paragraph.text));
            if let Some(note) = &paragraph.note {
                out.push_str(&format!("    note: {note}\n"));
            }
        }
        out
    }

    /// The embedded default policy.
    pub fn builtin() -> Result<Policy> {
        Policy::parse(DEFAULT_POLICY, DEFAULT_POLICY_NAME, Path::new("."))
    }

    /// Loads a policy file; plugin paths in it are relative to its folder.
    pub fn load(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read policy", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Policy::parse(&text, &path.display().to_string(), base)
    }

    /// Parses and validates policy text. `source` names it in messages.
    pub fn parse(text: &str, source: &str, base: &Path) -> Result<Policy> {
        let file: PolicyFile =
            toml::from_str(text).with_context(|| format!("{source}: invalid policy"))?;
        if file.rule.is_empty() {
            bail!("{source}: the policy has no [[rule]] entries");
        }
        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        for (n, entry) in file.rule.into_iter().enumerate() {
            let at = format!("{source}: rule {}", n + 1);
            let plugin = PluginRef::parse(&entry.plugin, base).with_context(|| at.clone())?;
            let id = match (entry.id, &plugin) {
                (Some(id), _) => id,
                (None, PluginRef::Builtin(name)) => name.clone(),
                (None, PluginRef::File(_)) => {
                    bail!("{at}: a rule with a plugin file needs an `id`")
                }
            };
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!(
                    "{at}: rule id `{id}` must be non-empty and use only letters, digits, `-` and `_`"
                );
            }
            if !seen.insert(id.clone()) {
                bail!("{at}: rule id `{id}` is used twice");
            }
            if let Some(pin) = &entry.sha256
                && (pin.len() != 64 || !pin.chars().all(|c| c.is_ascii_hexdigit()))
            {
                bail!("{at}: sha256 must be 64 hex digits");
            }
            let limits = entry.limits;
            if [
                limits.memory_mib,
                limits.fuel_per_call,
                limits.max_findings,
                limits.max_message_bytes,
            ]
            .contains(&0)
            {
                bail!("{at}: limits must be greater than zero");
            }
            let config = entry.config.unwrap_or_default();
            let config = resolve_shared(config, &file.shared, &format!("{at}: config"))?;
            let config = toml_to_json(toml::Value::Table(config));
            rules.push(RuleSpec {
                id,
                plugin,
                sha256: entry.sha256.map(|s| s.to_ascii_lowercase()),
                commitment: entry.commitment.trim().to_string(),
                config,
                limits: entry.limits,
                severity: entry.severity,
                controls: entry.controls,
            });
        }
        for (n, entry) in file.coverage.iter().enumerate() {
            let at = format!("{source}: coverage {}", n + 1);
            if entry.rules.is_empty() && entry.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                bail!("{at}: a paragraph no rule checks needs a `note` saying why");
            }
            if let Some(unknown) = entry.rules.iter().find(|r| !seen.contains(*r)) {
                bail!("{at}: names rule `{unknown}`, which the policy does not have");
            }
        }
        let waivers = parse_waivers(file.waiver, source)?;
        check_waiver_rules(&waivers, &seen, source)?;
        let redact = match file.redact {
            Some(table) => table
                .fields
                .iter()
                .map(|name| RedactField::parse(name))
                .collect::<Result<_>>()
                .with_context(|| format!("{source}: [redact]"))?,
            None => Vec::new(),
        };
        Ok(Policy {
            coverage: file.coverage,
            waivers,
            redact,
            title: file.policy.title,
            document: file.policy.document,
            source: source.to_string(),
            sha256: sha256_hex(text.as_bytes()),
            rules,
        })
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` as lowercase hex, as digests are shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// TOML to JSON, with dates and times as RFC 3339 strings.
/// `config` with each `{ shared = "name" }` (at any depth) replaced by the
/// policy's `[shared]` value `name`. `at` names the table in errors.
fn resolve_shared(config: toml::Table, shared: &toml::Table, at: &str) -> Result<toml::Table> {
    config
        .into_iter()
        .map(|(key, value)| {
            let at = format!("{at}.{key}");
            let value = match value {
                toml::Value::Table(table) if table.len() == 1 && table.contains_key("shared") => {
                    let Some(toml::Value::String(name)) = table.get("shared") else {
                        bail!("{at}: `shared` must name a value of the policy's [shared] table");
                    };
                    match shared.get(name) {
                        Some(value) => value.clone(),
                        None => bail!("{at}: the policy's [shared] table has no `{name}`"),
                    }
                }
                toml::Value::Table(table) => {
                    toml::Value::Table(resolve_shared(table, shared, &at)?)
                }
                other => other,
            };
            Ok((key, value))
        })
        .collect()
}

fn toml_to_json(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        toml::Value::String(s) => Json::String(s),
        toml::Value::Integer(i) => Json::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Json::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy> {
        Policy::parse(text, "p.toml", Path::new("/policies"))
    }

    #[test]
    fn default_policy_is_valid() {
        let policy = Policy::builtin().unwrap();
        let ids: Vec<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
        // Every built-in rule, in the order they are listed (BUILTIN_RULES).
        assert_eq!(ids, builtin::names());
        let plugins: Vec<String> = policy.rules.iter().map(|r| r.plugin.to_string()).collect();
        let builtins: Vec<String> = builtin::names()
            .iter()
            .map(|n| format!("builtin:{n}"))
            .collect();
        assert_eq!(plugins, builtins);
        assert!(policy.rules.iter().all(|r| !r.commitment.is_empty()));
    }

    #[test]
    fn config_becomes_json_and_paths_are_relative_to_the_policy() {
        let policy = parse(
            "[policy]\ntitle = \"t\"\n[[rule]]\nid = \"mine\"\nplugin = \"rules/mine.wasm\"\ncommitment = \"c\"\n\
             [rule.config]\ndays = 3\nwhen = 2026-01-01T00:00:00Z\nlist = [\"a\"]\n",
        )
        .unwrap();
        let rule = &policy.rules[0];
        assert_eq!(
            rule.plugin,
            PluginRef::File(PathBuf::from("/policies/rules/mine.wasm"))
        );
        assert_eq!(
            rule.config,
            serde_json::json!({"days": 3, "when": "2026-01-01T00:00:00Z", "list": ["a"]})
        );
        assert_eq!(rule.limits, Limits::default());
    }

    #[test]
    fn shared_values_are_written_once_and_taken_by_name() {
        let rule = |n: u32, key: &str| {
            format!(
                "[[rule]]\nid = \"r{n}\"\nplugin = \"r.wasm\"\ncommitment = \"c\"\n\
                 [rule.config]\n{key} = {{ shared = \"machines\" }}\n[rule.config.nested]\n\
                 also = {{ shared = \"machines\" }}\nkept = 1\n"
            )
        };
        let text = format!(
            "[policy]\ntitle = \"t\"\n[shared]\nmachines = [\"event-log\"]\n{}{}",
            rule(1, "machine_categories"),
            rule(2, "categories")
        );
        let policy = parse(&text).unwrap();
        assert_eq!(
            policy.rules[0].config,
            serde_json::json!({"machine_categories": ["event-log"], "nested": {"also": ["event-log"], "kept": 1}})
        );
        assert_eq!(
            policy.rules[1].config["categories"],
            serde_json::json!(["event-log"])
        );
        let missing = parse(&text.replace("[shared]\nmachines", "[shared]\nother")).unwrap_err();
        assert!(
            format!("{missing:#}").contains(
                "rule 1: config.machine_categories: the policy's [shared] table has no `machines`"
            ),
            "{missing:#}"
        );
    }

    #[test]
    fn rejects_duplicate_ids_unknown_keys_and_bad_pins() {
        let rule = "[[rule]]\nplugin = \"builtin:x\"\ncommitment = \"c\"\n";
        let twice = format!("[policy]\ntitle = \"t\"\n{rule}{rule}");
        assert!(
            parse(&twice)
                .unwrap_err()
                .to_string()
                .contains("rule id `x` is used twice")
        );
        let typo = "[policy]\ntitle = \"t\"\n[[rule]]\nplugin = \"builtin:x\"\ncommitment = \"c\"\nconfg = {}\n";
        assert!(format!("{:#}", parse(typo).unwrap_err()).contains("unknown field `confg`"));
        let pin = "[policy]\ntitle = \"t\"\n[[rule]]\nplugin = \"builtin:x\"\ncommitment = \"c\"\nsha256 = \"abc\"\n";
        assert!(
            parse(pin)
                .unwrap_err()
                .to_string()
                .contains("64 hex digits")
        );
    }

    #[test]
    fn the_default_coverage_map_quotes_every_paragraph_of_the_source() {
        let source = include_str!("../../../policies/defender-for-cloud.source.txt");
        let paragraphs: Vec<&str> = source
            .lines()
            .map(str::trim)
            .filter(|l| l.contains('.') || l.ends_with(':'))
            .collect();
        let coverage = Policy::builtin().unwrap().coverage;
        let quoted: Vec<&str> = coverage.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(quoted, paragraphs);
        let checked: std::collections::BTreeSet<&str> = coverage
            .iter()
            .flat_map(|c| c.rules.iter().map(String::as_str))
            .collect();
        assert_eq!(
            checked.len(),
            10,
            "every rule checks some paragraph: {checked:?}"
        );
    }

    #[test]
    fn coverage_must_name_real_rules_or_say_why_not() {
        let base =
            "[policy]\ntitle = \"t\"\n[[rule]]\nplugin = \"builtin:x\"\ncommitment = \"c\"\n";
        let unknown = format!("{base}[[coverage]]\ntext = \"p\"\nrules = [\"y\"]\n");
        assert!(
            parse(&unknown)
                .unwrap_err()
                .to_string()
                .contains("names rule `y`")
        );
        let silent = format!("{base}[[coverage]]\ntext = \"p\"\n");
        assert!(
            parse(&silent)
                .unwrap_err()
                .to_string()
                .contains("needs a `note`")
        );
    }

    #[test]
    fn a_policy_needs_rules() {
        assert!(
            parse("[policy]\ntitle = \"t\"\n")
                .unwrap_err()
                .to_string()
                .contains("no [[rule]]")
        );
    }
}
