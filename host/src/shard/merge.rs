//! `covenant merge`: one report from the JSON reports of a log's shards,
//! so that a log too large for one machine can be checked by many.
//!
//! The merged report is the report one run would give over every input the
//! parts read, each read once. That holds when the log is split by tenant
//! (the event's `tenant`, else its data's), because every built-in rule but
//! one keeps its state per tenant, subscription or data item, all of which
//! stay within a tenant's shard. The exception is segregation's lineage: a
//! `derive` is checked against the tags of its sources, which may be
//! another tenant's items. Shards share that lineage through one input that
//! every part reads (see the README, "Sharding a large log"): an input with
//! the same sha256 in every part is counted once, and its findings, which
//! must then be the same in every part, once.
//!
//! Only the findings and what was read are taken from the parts. Waivers,
//! statuses, controls and counts are judged again over the merged whole by
//! the code a run uses ([`Report::judge`]), because a waiver stale in one
//! shard may match in another.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::events::Timestamp;
use crate::policy::waivers::Waiver;
use crate::report::{
    ChainLink, FindingReport, Report, RuleReport, SCHEMA, Status, Summary, read_json, sort_findings,
};

/// One part and where it came from, for error messages.
struct Part {
    path: String,
    file: Report,
}

/// Reads the JSON reports at `paths` and merges them into the report of
/// one run over all their inputs. Refuses, naming the file, parts that are
/// not reports of this Covenant's format or that were not made alike (same
/// policy, rules, plugins, waivers and as-of), and an input read by more
/// than one part unless every part read it (shared lineage).
pub fn merge(paths: &[PathBuf]) -> Result<Report> {
    if paths.is_empty() {
        bail!("give at least one part: a JSON report written by `covenant report -o FILE.json`");
    }
    let parts = paths
        .iter()
        .map(|path| {
            Ok(Part {
                path: path.display().to_string(),
                file: read_json(path)?,
            })
        })
        .collect::<Result<Vec<Part>>>()?;
    if (parts.iter()).any(|p| p.file.chain.as_ref().is_some_and(|c| c.after.is_some())) {
        return merge_chain(parts);
    }
    check_alike(&parts, true)?;
    let shared = shared_inputs(&parts)?;
    let first = &parts[0];

    let mut rules = Vec::new();
    for (n, rule) in first.file.rules.iter().enumerate() {
        rules.push(merge_rule(&parts, n, &shared).with_context(|| format!("rule `{}`", rule.id))?);
    }

    let mut inputs = Vec::new();
    let mut rejected = Vec::new();
    let mut events: u64 = 0;
    let mut seen_shared = Vec::new();
    for part in &parts {
        for input in &part.file.inputs {
            if shared.contains(input.sha256.as_str()) {
                if seen_shared.contains(&input.sha256) {
                    continue;
                }
                seen_shared.push(input.sha256.clone());
            }
            events = events.saturating_add(input.events);
            inputs.push(input.clone());
            rejected.extend(
                part.file
                    .rejected
                    .iter()
                    .filter(|r| located_in(&r.location, &input.name))
                    .cloned(),
            );
        }
    }

    let mut report = Report {
        schema: SCHEMA.to_string(),
        covenant_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: first.file.as_of,
        summary: Summary::default(),
        policy: first.file.policy.clone(),
        inputs,
        rejected,
        rules,
        controls: Vec::new(),
        waivers: Vec::new(),
        coverage: first.file.coverage.clone(),
        redacted: Vec::new(),
        chain: None,
    };
    let waivers: Vec<Waiver> = first
        .file
        .waivers
        .iter()
        .map(|w| w.waiver.clone())
        .collect();
    report.judge(&waivers, events);
    Ok(report)
}

/// Refuses parts that were not made alike: their findings could not be
/// those of one run. Shards must be taken `same_as_of`; a chain's runs are
/// each taken as of their own end.
fn check_alike(parts: &[Part], same_as_of: bool) -> Result<()> {
    let first = &parts[0];
    let ours = env!("CARGO_PKG_VERSION");
    // What became of a waiver is judged again; only the waiver itself must
    // agree.
    fn waivers(part: &Part) -> impl Iterator<Item = &Waiver> {
        part.file.waivers.iter().map(|w| &w.waiver)
    }
    for part in parts {
        let (a, b) = (&first.path, &part.path);
        if part.file.covenant_version != ours {
            bail!(
                "{b}: made by covenant {}, but this is covenant {ours}; merge with the version that made the parts",
                part.file.covenant_version
            );
        }
        if !part.file.redacted.is_empty() {
            bail!(
                "{b}: the report is redacted, and redacted parts cannot be merged: each shard hashes only the \
                 identifiers it read, so waivers and messages would be redacted differently from one run's; \
                 merge unredacted parts"
            );
        }
        if part.file.policy.sha256 != first.file.policy.sha256 {
            bail!(
                "{a} and {b} were made under different policies ({} sha256 {}, {} sha256 {}); run every shard with the same policy",
                first.file.policy.source,
                first.file.policy.sha256,
                part.file.policy.source,
                part.file.policy.sha256
            );
        }
        let ids = |p: &Part| {
            p.file
                .rules
                .iter()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>()
        };
        if ids(part) != ids(first) {
            bail!(
                "{a} and {b} ran different rules ({} / {})",
                ids(first).join(", "),
                ids(part).join(", ")
            );
        }
        for (x, y) in first.file.rules.iter().zip(&part.file.rules) {
            if let (Some(p), Some(q)) = (&x.plugin.sha256, &y.plugin.sha256)
                && p != q
            {
                bail!(
                    "{a} and {b} ran different plugins for rule `{}` (sha256 {p} / {q}); run every shard with the same plugins",
                    x.id
                );
            }
        }
        if same_as_of && part.file.as_of != first.file.as_of {
            let show =
                |t: Option<Timestamp>| t.map_or("none (no events)".to_string(), |t| t.to_string());
            bail!(
                "{a} is as of {} but {b} is as of {}; run every shard with the same --as-of, since without it \
                 each shard is taken as of its own latest event",
                show(first.file.as_of),
                show(part.file.as_of)
            );
        }
        if !waivers(part).eq(waivers(first)) {
            bail!(
                "{a} and {b} were made with different waivers; run every shard with the same --waivers files"
            );
        }
    }
    Ok(())
}

/// The sha256 of each input every part read (shared lineage). Refuses an input that some but not all parts read:
/// its events would be counted, and its findings reported, twice. Empty
/// inputs are ignored, since reading nothing twice changes nothing.
fn shared_inputs(parts: &[Part]) -> Result<HashSet<&str>> {
    let mut readers: BTreeMap<&str, Vec<(&Part, &str)>> = BTreeMap::new();
    for part in parts {
        for input in &part.file.inputs {
            if (input.events, input.rejected) != (0, 0) {
                readers
                    .entry(input.sha256.as_str())
                    .or_default()
                    .push((part, input.name.as_str()));
            }
        }
    }
    let mut shared = HashSet::new();
    for (sha256, readers) in readers {
        if readers.len() == 1 {
            continue;
        }
        if parts.len() < 2 || readers.len() != parts.len() {
            let (first, name) = readers[0];
            let (second, _) = readers[1];
            bail!(
                "{} and {} both read input {name} (sha256 {sha256}): a part was given twice, or the shards \
                 overlap; only an input every part reads (shared lineage) may repeat",
                first.path,
                second.path
            );
        }
        shared.insert(sha256);
    }
    let own = parts.iter().flat_map(|p| &p.file.inputs).any(|input| {
        (input.events, input.rejected) != (0, 0) && !shared.contains(input.sha256.as_str())
    });
    if parts.len() > 1 && !own {
        bail!(
            "every part read the same inputs, so they are the same run, not shards; give each shard its own input"
        );
    }
    Ok(shared)
}

/// Whether a rejection's `location` (`name:line` or `name element N`) is in
/// the input called `name`.
fn located_in(location: &str, name: &str) -> bool {
    location
        .strip_prefix(name)
        .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(" element "))
}

/// Rule `n` of every part as one rule: every part's findings, those about
/// shared inputs once, in the report's order, with no waiver applied yet,
/// and every part's subjects not assessed, each once (a subject belongs to
/// one tenant, so to one shard, but a part may repeat a shared one).
fn merge_rule(parts: &[Part], n: usize, shared: &HashSet<&str>) -> Result<RuleReport> {
    // A shard where the plugin did not load knows less about it.
    let described = parts
        .iter()
        .map(|p| &p.file.rules[n])
        .find(|r| r.plugin.sha256.is_some())
        .unwrap_or(&parts[0].file.rules[n]);
    let mut findings = Vec::new();
    let mut errors: Vec<(&str, &str)> = Vec::new();
    let mut in_shared: BTreeMap<(Timestamp, &str, &str), usize> = BTreeMap::new();
    for part in parts {
        let shared_names: Vec<&str> = part
            .file
            .inputs
            .iter()
            .filter(|input| shared.contains(input.sha256.as_str()))
            .map(|input| input.name.as_str())
            .collect();
        let rule = &part.file.rules[n];
        if let Some(error) = &rule.error
            && !errors.iter().any(|(_, e)| e == error)
        {
            errors.push((&part.path, error));
        }
        for finding in &rule.findings {
            if shared_names.contains(&finding.file.as_str()) {
                let seen = in_shared
                    .entry((finding.time, &finding.event_id, &finding.message))
                    .or_default();
                *seen += 1;
                if *seen > 1 {
                    continue;
                }
            }
            findings.push(FindingReport {
                waived: None,
                ..finding.clone()
            });
        }
    }
    if let Some(((_, event_id, message), _)) =
        in_shared.iter().find(|(_, seen)| **seen != parts.len())
    {
        bail!(
            "the parts disagree about event {event_id} of a shared input ({message}): its verdict depends on \
             state one shard lacks, so a shared input may only hold records no rule reports, such as lineage"
        );
    }
    sort_findings(&mut findings);
    let mut unassessable: Vec<_> = (parts.iter())
        .flat_map(|part| part.file.rules[n].unassessable.iter().cloned())
        .collect();
    unassessable.sort();
    unassessable.dedup();
    let error = match errors.as_slice() {
        [] => None,
        [(_, error)] => Some(error.to_string()),
        several => Some(
            several
                .iter()
                .map(|(part, error)| format!("{part}: {error}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    Ok(RuleReport {
        id: described.id.clone(),
        // Set by `judge`, once waivers are applied.
        status: Status::Pass,
        error,
        severity: described.severity,
        controls: described.controls.clone(),
        commitment: described.commitment.clone(),
        description: described.description.clone(),
        plugin: described.plugin.clone(),
        findings,
        unassessable,
    })
}

/// A chain's reports, one a run (`--resume`, `--save-state`), merged into
/// the report of one run over the chain's whole log. The runs are put in
/// chain order by their links, and a chain with a run missing, repeated or
/// forked is refused. Every run's findings are kept, but a later run's
/// findings about an event replace an earlier run's: a rule that said "not
/// yet deleted" at the end of one day and "deleted late" the next day is
/// counted once, with its final word. What the rules could not assess, and
/// why a rule failed, are the last run's, since each run carries on from
/// the whole chain before it.
fn merge_chain(parts: Vec<Part>) -> Result<Report> {
    check_alike(&parts, false)?;
    let parts = chain_order(parts)?;
    let (first, last) = (&parts[0], &parts[parts.len() - 1]);
    let rules = (0..last.file.rules.len())
        .map(|n| chain_rule(&parts, n))
        .collect();
    let inputs: Vec<_> = parts
        .iter()
        .flat_map(|p| p.file.inputs.iter().cloned())
        .collect();
    let events = inputs.iter().map(|i| i.events).fold(0, u64::saturating_add);
    let link = last
        .file
        .chain
        .as_ref()
        .expect("chain_order checked every part");
    let mut report = Report {
        schema: SCHEMA.to_string(),
        covenant_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: last.file.as_of,
        summary: Summary::default(),
        policy: first.file.policy.clone(),
        inputs,
        rejected: parts
            .iter()
            .flat_map(|p| p.file.rejected.iter().cloned())
            .collect(),
        rules,
        controls: Vec::new(),
        waivers: Vec::new(),
        coverage: first.file.coverage.clone(),
        redacted: Vec::new(),
        // The whole chain, from its start: a merged chain follows nothing.
        chain: Some(ChainLink {
            part: link.part,
            after: None,
            digest: link.digest.clone(),
        }),
    };
    let waivers: Vec<Waiver> = (first.file.waivers.iter())
        .map(|w| w.waiver.clone())
        .collect();
    report.judge(&waivers, events);
    Ok(report)
}

/// The runs of one chain in order, from its first run: each after the run
/// whose digest it names.
fn chain_order(parts: Vec<Part>) -> Result<Vec<Part>> {
    let mut by_after: HashMap<Option<String>, Part> = HashMap::new();
    for part in parts {
        let Some(link) = &part.file.chain else {
            bail!(
                "{}: a run on its own, not a run of a chain (it neither resumed nor saved a state); merge one chain's runs, or shards, not both",
                part.path
            );
        };
        if let Some(other) = by_after.get(&link.after) {
            bail!(
                "{} and {} both carry on from the same point of the chain: a report was given twice, or two runs resumed the same state",
                other.path,
                part.path
            );
        }
        by_after.insert(link.after.clone(), part);
    }
    let mut ordered: Vec<Part> = Vec::new();
    let mut next = None;
    while let Some(part) = by_after.remove(&next) {
        next = part.file.chain.as_ref().map(|link| link.digest.clone());
        ordered.push(part);
    }
    let Some(last) = ordered.last() else {
        bail!(
            "no report given is of the chain's first run: each resumed a state of a run not given; give every run's report from the chain's first"
        );
    };
    if let Some(stray) = by_after.values().map(|p| p.path.as_str()).min() {
        bail!(
            "{stray} does not carry on from the reports before it: the report of the run after {} is missing",
            last.path
        );
    }
    Ok(ordered)
}

/// Rule `n` over a whole chain: each event's findings from the last run
/// that reported any about it.
fn chain_rule(parts: &[Part], n: usize) -> RuleReport {
    let mut by_event: BTreeMap<&str, Vec<&FindingReport>> = BTreeMap::new();
    for part in parts {
        let mut this_run: BTreeMap<&str, Vec<&FindingReport>> = BTreeMap::new();
        for finding in &part.file.rules[n].findings {
            this_run.entry(&finding.event_id).or_default().push(finding);
        }
        by_event.extend(this_run);
    }
    let mut findings: Vec<FindingReport> = (by_event.into_values().flatten())
        .map(|finding| FindingReport {
            waived: None,
            ..finding.clone()
        })
        .collect();
    sort_findings(&mut findings);
    // The rest is the last run's, field by field: cloning it whole would
    // copy its findings only to drop them.
    let last = &parts[parts.len() - 1].file.rules[n];
    RuleReport {
        id: last.id.clone(),
        // Set by `judge`, once waivers are applied.
        status: Status::Pass,
        error: last.error.clone(),
        severity: last.severity,
        controls: last.controls.clone(),
        commitment: last.commitment.clone(),
        description: last.description.clone(),
        plugin: last.plugin.clone(),
        findings,
        unassessable: last.unassessable.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    use crate::events::{InputFormat, InputSummary};
    use crate::policy::Severity;
    use crate::policy::waivers::{WaiverEntry, parse_waivers};
    use crate::report::{
        Format, PluginProvenance, PolicyProvenance, Waived, WaiverReport, WaiverStatus,
    };

    fn time(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn waiver() -> Waiver {
        let file: toml::Table = toml::from_str(
            "id = \"W-1\"\nrule = \"r\"\nreason = \"hold\"\napprover = \"dpo\"\nexpires = 2026-06-30\n\
             tenants = [\"b\"]\nuntil = 2026-03-31\n",
        )
        .unwrap();
        let entry: WaiverEntry = toml::Value::Table(file).try_into().unwrap();
        parse_waivers(vec![entry], "w.toml").unwrap().remove(0)
    }

    fn finding(event_id: &str, tenant: &str, file: &str) -> FindingReport {
        FindingReport {
            event_id: event_id.to_string(),
            time: time("2026-01-01T00:00:00Z"),
            location: format!("{file}:1"),
            file: file.to_string(),
            line: Some(1),
            element: None,
            tenant: Some(tenant.to_string()),
            data_id: None,
            message: format!("{event_id} broke r"),
            waived: None,
        }
    }

    /// A one-rule report, as a shard over `inputs` (name, sha256) with
    /// `findings` would write it, judged with `waivers`.
    fn part(inputs: &[(&str, &str)], findings: Vec<FindingReport>, waivers: &[Waiver]) -> Report {
        let mut report = Report {
            schema: SCHEMA.to_string(),
            covenant_version: env!("CARGO_PKG_VERSION").to_string(),
            as_of: Some(time("2026-02-01T00:00:00Z")),
            summary: Summary::default(),
            policy: PolicyProvenance {
                title: "t".into(),
                document: None,
                source: "p.toml".into(),
                sha256: "p".into(),
            },
            inputs: inputs
                .iter()
                .map(|(name, sha256)| InputSummary {
                    name: name.to_string(),
                    format: InputFormat::Jsonl,
                    events: 10,
                    rejected: 0,
                    sha256: sha256.to_string(),
                    mapping: None,
                    skipped: 0,
                    folded: 0,
                })
                .collect(),
            rejected: Vec::new(),
            rules: vec![RuleReport {
                id: "r".into(),
                status: Status::Pass,
                error: None,
                severity: Some(Severity::High),
                controls: vec!["C-1".into()],
                commitment: "c".into(),
                description: None,
                plugin: PluginProvenance {
                    source: "r.wasm".into(),
                    sha256: Some("r".into()),
                    ..PluginProvenance::default()
                },
                findings,
                unassessable: Vec::new(),
            }],
            controls: Vec::new(),
            waivers: Vec::new(),
            coverage: Vec::new(),
            redacted: Vec::new(),
            chain: None,
        };
        let events = report.inputs.iter().map(|i| i.events).sum();
        report.judge(waivers, events);
        report
    }

    fn write(dir: &Path, name: &str, report: &Report) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, Format::Json.render(report, false)).unwrap();
        path
    }

    #[test]
    fn a_waiver_stale_in_one_shard_is_judged_over_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let waivers = [waiver()];
        let a = part(
            &[("a.jsonl", "1")],
            vec![finding("e1", "a", "a.jsonl")],
            &waivers,
        );
        let b = part(
            &[("b.jsonl", "2")],
            vec![finding("e2", "b", "b.jsonl")],
            &waivers,
        );
        assert_eq!(a.waivers[0].status, WaiverStatus::Stale);
        let merged = merge(&[
            write(dir.path(), "a.json", &a),
            write(dir.path(), "b.json", &b),
        ])
        .unwrap();
        assert_eq!(merged.summary.events, 20);
        assert_eq!((merged.summary.open, merged.summary.waived), (1, 1));
        assert_eq!(merged.waivers[0].status, WaiverStatus::Active);
        assert_eq!(merged.waivers[0].waiver, waivers[0]);
        let waived = merged.rules[0].findings[1]
            .waived
            .as_ref()
            .map(|w: &Waived| &w.waiver);
        assert_eq!(waived.map(String::as_str), Some("W-1"));
        assert_eq!(merged.controls[0].open, 1);
        assert!(matches!(
            merged.waivers.as_slice(),
            [WaiverReport { findings: 1, .. }]
        ));
    }

    #[test]
    fn a_shared_input_counts_once_and_its_findings_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        let lineage = ("lineage.jsonl", "L");
        let a = part(
            &[("a.jsonl", "1"), lineage],
            vec![finding("x", "a", "lineage.jsonl")],
            &[],
        );
        let b = part(
            &[("b.jsonl", "2"), lineage],
            vec![finding("x", "a", "lineage.jsonl")],
            &[],
        );
        let paths = [
            write(dir.path(), "a.json", &a),
            write(dir.path(), "b.json", &b),
        ];
        let merged = merge(&paths).unwrap();
        assert_eq!(merged.summary.events, 30);
        assert_eq!(merged.inputs.len(), 3);
        assert_eq!(merged.summary.findings, 1);

        let c = part(&[("c.jsonl", "3"), lineage], Vec::new(), &[]);
        let c = write(dir.path(), "c.json", &c);
        let error = merge(&[paths[0].clone(), paths[1].clone(), c]).unwrap_err();
        assert!(
            format!("{error:#}").contains("the parts disagree about event x of a shared input"),
            "{error:#}"
        );
    }

    #[test]
    fn overlapping_or_repeated_parts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.json",
            &part(&[("a.jsonl", "1")], Vec::new(), &[]),
        );
        let error = merge(&[a.clone(), a.clone()]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("every part read the same inputs"),
            "{error}"
        );
        let ab = write(
            dir.path(),
            "ab.json",
            &part(&[("a.jsonl", "1"), ("b.jsonl", "2")], Vec::new(), &[]),
        );
        let c = write(
            dir.path(),
            "c.json",
            &part(&[("c.jsonl", "3")], Vec::new(), &[]),
        );
        let error = merge(&[a, ab, c]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("both read input a.jsonl (sha256 1)"),
            "{error}"
        );
        assert!(merge(&[]).is_err());
    }

    #[test]
    fn rejections_are_placed_by_their_input_name() {
        assert!(located_in("logs/a.jsonl:12", "logs/a.jsonl"));
        assert!(located_in("a.json element 3", "a.json"));
        assert!(!located_in("a.jsonl2:1", "a.jsonl"));
    }
}
