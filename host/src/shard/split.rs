//! `covenant split`: a log cut into tenant shards, and the lineage file
//! every shard shares, so that each shard can be reported on by its own
//! worker and `covenant merge` can combine the parts (README, "Sharding a
//! large log", steps 1 and 2).
//!
//! An event goes to the shard of its `tenant`, or of its `data.tenant` when
//! it names none (the tenant a finding is filed under): shard
//! `FNV-1a-64(UTF-8 name) mod N`, so a tenant's shard depends only on its
//! name and N, on every platform and version. Events with no tenant at all
//! go to shard 0.
//!
//! Lineage is computed in (time, id) order, the order rules see: a log
//! already in that order streams through once, as a report streams it; any
//! other log is read again through the time sorter. Memory is the reader's
//! id ledger (as for a report), the sorter's run, and the latest
//! organisation tag of every data item, which the lineage rule needs.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::wire::write_line;
use crate::events::{
    DEFAULT_RUN_LEN, DataItem, Event, EventReader, Places, TimeOrder, Timestamp, in_time_order,
};
use crate::report::atomic_file::write_all_atomically;

/// The most shards one split writes: each is a file open while splitting.
pub const MAX_SHARDS: u32 = 1000;

/// The lineage file's name in the output directory.
pub const LINEAGE_FILE: &str = "lineage.jsonl";

/// The name of shard `index`'s file in the output directory.
pub fn shard_file(index: u32) -> String {
    format!("shard-{index}.jsonl")
}

/// What a split wrote, for the summary `split` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitSummary {
    /// Events written to each shard, by shard number.
    pub shard_events: Vec<u64>,
    /// Records written to the lineage file.
    pub lineage_records: u64,
}

/// The shard, out of `shards`, of events filed under `tenant`: FNV-1a (64
/// bit) of the name's UTF-8 bytes modulo `shards`, and 0 for no tenant.
/// Public so that anyone splitting by other means can match it; a
/// `shards` of 0 counts as 1.
pub fn shard_of(tenant: Option<&str>, shards: u32) -> u32 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let Some(tenant) = tenant else { return 0 };
    let hash = tenant.bytes().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    // The remainder is below `shards`, so it fits.
    (hash % u64::from(shards.max(1))) as u32
}

/// Refuses a number of shards [`split`] cannot write, before anything is
/// read.
pub fn check_shards(shards: u32) -> Result<(), String> {
    if !(1..=MAX_SHARDS).contains(&shards) {
        return Err(format!(
            "a split writes from 1 to {MAX_SHARDS} shards, not {shards}"
        ));
    }
    Ok(())
}

/// Reads every input of `reader` (stopping at the first invalid record)
/// and writes `dir/shard-0.jsonl` … `dir/shard-{shards-1}.jsonl` and
/// `dir/lineage.jsonl`, each in (time, id) order. Every file is written in
/// full beside its destination before any is renamed into place, so an
/// error leaves `dir` as it was.
pub fn split(reader: &EventReader, shards: u32, dir: &Path) -> Result<SplitSummary> {
    check_shards(shards).map_err(anyhow::Error::msg)?;
    refuse_stale_shards(dir, shards)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut paths = vec![dir.join(LINEAGE_FILE)];
    paths.extend((0..shards).map(|index| dir.join(shard_file(index))));

    // Every file is rewritten whole on each pass, so a pass abandoned for
    // an event out of order leaves nothing behind.
    in_time_order(reader, false, DEFAULT_RUN_LEN, |feed| {
        write_all_atomically(&paths, |outs| {
            let mut splitter = Splitter::new(&paths, outs, shards);
            let log = feed(&mut |event| splitter.take(&event))?;
            splitter.finish(|ids| reader.places(&log, ids.iter().map(String::as_str)))
        })
    })
}

/// Refuses a directory holding `shard-K.jsonl` with K at or above
/// `shards`: left from a split into more shards, it would be reported on
/// with this split's shards and count its events twice.
fn refuse_stale_shards(dir: &Path, shards: u32) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.with_context(|| format!("{}: cannot list", dir.display()))?,
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = entry.file_name();
        let index = name.to_str().and_then(|name| {
            let digits = name.strip_prefix("shard-")?.strip_suffix(".jsonl")?;
            digits.parse::<u32>().ok()
        });
        if index.is_some_and(|index| index >= shards) {
            bail!(
                "{}: left from a split into more shards, it would be read with these {shards}; remove it or split into another folder",
                entry.path().display()
            );
        }
    }
    Ok(())
}

/// The latest organisation tag of a data item: the event that set it.
struct Tag {
    event_id: String,
    time: Timestamp,
    tenant: String,
    /// The tagging event's shard key (its tenant, else the tag).
    filed_under: String,
    /// Whether its lineage record has been written.
    recorded: bool,
}

/// Takes events in (time, id) order, writes each to its shard and collects
/// the lineage records, which are sorted before they are written.
struct Splitter<'a, 'w> {
    paths: &'a [PathBuf],
    /// The lineage file's writer, then each shard's.
    outs: &'a mut [&'w mut dyn Write],
    shard_events: Vec<u64>,
    tags: HashMap<String, Tag>,
    lineage: TimeOrder,
    lineage_records: u64,
    /// The ids of the lineage records, which no event of the log may have.
    lineage_ids: Vec<String>,
}

impl<'a, 'w> Splitter<'a, 'w> {
    fn new(paths: &'a [PathBuf], outs: &'a mut [&'w mut dyn Write], shards: u32) -> Self {
        Splitter {
            paths,
            outs,
            shard_events: vec![0; shards as usize],
            tags: HashMap::new(),
            lineage: TimeOrder::new(DEFAULT_RUN_LEN),
            lineage_records: 0,
            lineage_ids: Vec::new(),
        }
    }

    /// Writes `event` to its shard, first recording the tag of each of a
    /// `derive`'s sources that another tenant's event set last.
    fn take(&mut self, event: &Event) -> Result<()> {
        let data = event.data.as_ref();
        let filed_under = event
            .tenant
            .as_deref()
            .or_else(|| data.and_then(|d| d.tenant.as_deref()));
        if event.action == "derive" {
            for source in data.map_or(&[][..], |d| &d.sources) {
                if let Some(tag) = self.tags.get_mut(source)
                    && !tag.recorded
                    && Some(tag.filed_under.as_str()) != filed_under
                {
                    tag.recorded = true;
                    let record = lineage_record(source, tag);
                    self.lineage_ids.push(record.id.clone());
                    self.lineage.push(record)?;
                    self.lineage_records += 1;
                }
            }
        }
        // Segregation keeps only non-empty tags.
        if let Some((id, tenant)) = data.and_then(|d| Some((d.id.as_ref()?, d.tenant.as_ref()?)))
            && !tenant.is_empty()
        {
            let tag = Tag {
                event_id: event.id.clone(),
                time: event.time,
                tenant: tenant.clone(),
                filed_under: filed_under.unwrap_or(tenant).to_string(),
                recorded: false,
            };
            self.tags.insert(id.clone(), tag);
        }
        let shard = shard_of(filed_under, self.shard_events.len() as u32) as usize;
        self.shard_events[shard] += 1;
        write_line(&mut *self.outs[shard + 1], &self.paths[shard + 1], event)
    }

    /// Writes the lineage records in (time, id) order, refusing one whose
    /// id an event of the log already has, and flushes every file.
    /// `find` says which of the given ids the log's events have.
    fn finish(self, find: impl FnOnce(&[String]) -> Result<Places>) -> Result<SplitSummary> {
        let Splitter {
            paths,
            outs,
            shard_events,
            lineage,
            lineage_records,
            lineage_ids,
            ..
        } = self;
        let taken = find(&lineage_ids)?;
        for record in lineage.into_sorted()? {
            let record = record?;
            if taken.contains_key(&record.id) {
                bail!(
                    "the log has an event with id `{}`, the id of a lineage record split must write",
                    record.id
                );
            }
            write_line(&mut *outs[0], &paths[0], &record)?;
        }
        for (out, path) in outs.iter_mut().zip(paths) {
            out.flush()
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        Ok(SplitSummary {
            shard_events,
            lineage_records,
        })
    }
}

/// The README's lineage record for `tag`, the latest tag of `source`.
fn lineage_record(source: &str, tag: &Tag) -> Event {
    Event {
        id: format!("{}#lineage", tag.event_id),
        time: tag.time,
        action: "lineage".to_string(),
        tenant: Some(tag.tenant.clone()),
        actor: None,
        purpose: None,
        scope: None,
        layer: None,
        region: None,
        data: Some(DataItem {
            id: Some(source.to_string()),
            category: None,
            tenant: Some(tag.tenant.clone()),
            store: None,
            sources: Vec::new(),
            extra: BTreeMap::new(),
        }),
        extra: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::parse_event_text;

    /// A log in time order: tenant b derives from a's item d1 (tagged by
    /// e1, so lineage), then from its own d2, and a derives from d1 again.
    const LOG: [&str; 6] = [
        r#"{"id":"e1","time":"2026-01-01T00:00:01Z","action":"store","tenant":"a","data":{"id":"d1","tenant":"a"}}"#,
        r#"{"id":"e2","time":"2026-01-01T00:00:02Z","action":"store","tenant":"b","data":{"id":"d2","tenant":"b"}}"#,
        r#"{"id":"e3","time":"2026-01-01T00:00:03Z","action":"derive","tenant":"b","data":{"id":"d3","tenant":"b","sources":["d1","d2"]}}"#,
        r#"{"id":"e4","time":"2026-01-01T00:00:04Z","action":"derive","tenant":"b","data":{"id":"d4","tenant":"b","sources":["d1"]}}"#,
        r#"{"id":"e5","time":"2026-01-01T00:00:05Z","action":"derive","data":{"id":"d5","tenant":"a","sources":["d1"]}}"#,
        r#"{"id":"e6","time":"2026-01-01T00:00:06Z","action":"config-change"}"#,
    ];

    fn split_lines(lines: &[&str], shards: u32, out: &Path) -> Result<SplitSummary> {
        let log = out.parent().unwrap().join("log.jsonl");
        std::fs::write(&log, lines.join("\n")).unwrap();
        split(&EventReader::from_paths(&[log])?, shards, out)
    }

    fn read(path: PathBuf) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn shards_by_fnv1a_of_the_tenant_and_none_to_shard_0() {
        // FNV-1a 64 test vectors: "" is the offset basis.
        assert_eq!(
            shard_of(Some(""), 1000),
            (0xcbf2_9ce4_8422_2325_u64 % 1000) as u32
        );
        assert_eq!(
            shard_of(Some("a"), 1000),
            (0xaf63_dc4c_8601_ec8c_u64 % 1000) as u32
        );
        assert_eq!(
            shard_of(Some("foobar"), 7),
            (0x8594_4171_f739_67e8_u64 % 7) as u32
        );
        assert_eq!(shard_of(None, 7), 0);
        assert_eq!(shard_of(Some("foobar"), 1), 0);
    }

    #[test]
    fn writes_each_event_to_its_tenants_shard_and_the_lineage_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("shards");
        let summary = split_lines(&LOG, 2, &out).unwrap();
        let (a, b) = (shard_of(Some("a"), 2), shard_of(Some("b"), 2));
        assert_ne!(a, b, "the test needs a and b apart");
        let shard = |n: u32| read(out.join(shard_file(n)));
        // Events keep their fields; e5 is filed under its data's tenant and
        // e6, with no tenant, goes to shard 0.
        let mut expected_a = format!("{}\n{}\n", LOG[0], LOG[4]);
        let mut expected_b = format!("{}\n{}\n{}\n", LOG[1], LOG[2], LOG[3]);
        match a {
            0 => expected_a.push_str(&format!("{}\n", LOG[5])),
            _ => expected_b.push_str(&format!("{}\n", LOG[5])),
        }
        assert_eq!(shard(a), expected_a);
        assert_eq!(shard(b), expected_b);
        // One record for e1's tag, however many derivations read it; none
        // for a's own derivation of d1.
        assert_eq!(
            read(out.join(LINEAGE_FILE)),
            "{\"id\":\"e1#lineage\",\"time\":\"2026-01-01T00:00:01Z\",\"action\":\"lineage\",\"tenant\":\"a\",\"data\":{\"id\":\"d1\",\"tenant\":\"a\"}}\n"
        );
        let mut counts = [0, 0];
        counts[a as usize] = 3;
        counts[b as usize] = 3;
        assert_eq!(
            summary,
            SplitSummary {
                shard_events: counts.to_vec(),
                lineage_records: 1
            }
        );
    }

    #[test]
    fn the_latest_tag_before_the_derivation_is_the_one_restated() {
        let retag = r#"{"id":"e3a","time":"2026-01-01T00:00:03.5Z","action":"store","tenant":"c","data":{"id":"d1","tenant":"c"}}"#;
        let empty = r#"{"id":"e3b","time":"2026-01-01T00:00:03.6Z","action":"access","tenant":"b","data":{"id":"d1","tenant":""}}"#;
        let lines = [LOG[0], LOG[1], LOG[2], retag, empty, LOG[3]];
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("shards");
        split_lines(&lines, 3, &out).unwrap();
        let ids: Vec<String> = read(out.join(LINEAGE_FILE))
            .lines()
            .map(|line| parse_event_text(line).unwrap().id)
            .collect();
        // e3 read e1's tag; e4 reads e3a's (an empty tag is no tag).
        assert_eq!(ids, ["e1#lineage", "e3a#lineage"]);
    }

    #[test]
    fn any_input_order_gives_the_same_bytes_and_every_event_parses_back() {
        let full = r#"{"id":"e0","time":"2026-01-01T02:00:00.25+02:00","action":"access","tenant":"a","actor":{"type":"personnel","id":"p"},"purpose":"p","scope":"s","layer":"l","region":"r","data":{"id":"d0","category":"c","tenant":"a","store":"st","sources":["x"],"size":[1,{"k":null}]},"ticket":"T-1","z":1.5}"#;
        let mut ordered = vec![full];
        ordered.extend(LOG);
        let mut shuffled = ordered.clone();
        shuffled.reverse();
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("one"), dir.path().join("two"));
        split_lines(&ordered, 3, &first).unwrap();
        split_lines(&shuffled, 3, &second).unwrap();
        let mut events = Vec::new();
        for name in (0..3).map(shard_file).chain([LINEAGE_FILE.to_string()]) {
            let text = read(first.join(&name));
            assert_eq!(text, read(second.join(&name)), "{name}");
            events.extend(text.lines().map(|line| parse_event_text(line).unwrap()));
        }
        let originals: Vec<Event> = ordered
            .iter()
            .map(|l| parse_event_text(l).unwrap())
            .collect();
        for original in &originals {
            assert_eq!(
                events.iter().filter(|e| *e == original).count(),
                1,
                "{}",
                original.id
            );
        }
        assert_eq!(events.len(), originals.len() + 1, "and one lineage record");
    }

    #[test]
    fn refuses_bad_requests_and_bad_logs_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("shards");
        for shards in [0, MAX_SHARDS + 1] {
            let error = split_lines(&LOG, shards, &out).unwrap_err().to_string();
            assert_eq!(
                error,
                format!("a split writes from 1 to 1000 shards, not {shards}")
            );
        }
        let bad = [LOG[0], "{", LOG[1]];
        let error = format!("{:#}", split_lines(&bad, 2, &out).unwrap_err());
        assert!(error.contains("log.jsonl:2: malformed JSON"), "{error}");
        assert!(
            !error.contains("cannot write"),
            "only the log's fault: {error}"
        );
        let unordered = [LOG[1], LOG[0], "{"];
        assert!(split_lines(&unordered, 2, &out).is_err());
        let clash = r#"{"id":"e1#lineage","time":"2026-01-01T00:00:09Z","action":"x"}"#;
        let error = split_lines(&[&LOG[..], &[clash]].concat(), 2, &out)
            .unwrap_err()
            .to_string();
        assert!(error.contains("id `e1#lineage`"), "{error}");
        let written: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
        assert!(written.is_empty(), "{written:?}");

        split_lines(&LOG, 3, &out).unwrap();
        let error = split_lines(&LOG, 2, &out).unwrap_err().to_string();
        assert!(
            error.contains("shard-2.jsonl: left from a split into more shards"),
            "{error}"
        );
        split_lines(&LOG, 3, &out).unwrap();
    }
}
