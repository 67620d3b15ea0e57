//! `covenant validate`: reading logs exactly as a report does, with no rule.
//!
//! It answers the questions to ask of a log before an audit: will it be
//! accepted, how many events does it hold over what span, and is it in
//! time order (so a report streams it once) or not (so a report sorts it).

use std::fmt;

use anyhow::Result;

use crate::events::{EventReader, ReadLog};

/// What reading a log showed: its inputs, span, order and rejected records.
#[derive(Debug)]
pub struct LogCheck {
    /// The read itself.
    pub log: ReadLog,
}

impl LogCheck {
    /// Reads every input, keeping no event. A record that is not a valid
    /// event is an error naming where and why, unless `skip_invalid`:
    /// then it is listed.
    pub fn read(reader: &EventReader, skip_invalid: bool) -> Result<LogCheck> {
        Ok(LogCheck {
            log: reader.check(skip_invalid)?,
        })
    }

    /// Whether every record was a valid event.
    pub fn is_valid(&self) -> bool {
        self.log.rejected.is_empty()
    }
}

/// The rejected records, one per line, then a one-line summary.
impl fmt::Display for LogCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for rejection in &self.log.rejected {
            writeln!(f, "{}: {}", rejection.location, rejection.reason)?;
        }
        for input in &self.log.inputs {
            if input.mapping.is_some() || input.folded > 0 {
                writeln!(
                    f,
                    "{}: {}, {} events",
                    input.name,
                    input.describe_format(),
                    input.events
                )?;
            }
        }
        let inputs = self.log.inputs.len();
        write!(
            f,
            "{} events in {inputs} input{}",
            self.log.events,
            if inputs == 1 { "" } else { "s" }
        )?;
        if let (Some(earliest), Some(latest)) = (self.log.earliest, self.log.latest) {
            write!(f, ", {earliest} to {latest}, ")?;
            f.write_str(match self.log.in_order {
                true => "in time order: a report reads it once, as it streams",
                false => {
                    "not in time order: a report sorts it first, which costs a second read and temporary files"
                }
            })?;
        }
        if !self.is_valid() {
            write!(f, "; {} invalid records", self.log.rejected.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lines: &[&str], skip_invalid: bool) -> Result<LogCheck> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, lines.join("\n")).unwrap();
        LogCheck::read(&EventReader::from_paths(&[path])?, skip_invalid)
    }

    const A: &str = r#"{"id":"a","time":"2026-01-01T00:00:00Z","action":"store"}"#;
    const B: &str = r#"{"id":"b","time":"2026-01-02T00:00:00Z","action":"store"}"#;

    #[test]
    fn says_whether_the_log_is_in_time_order() {
        let sorted = check(&[A, B], false).unwrap();
        assert!(sorted.log.in_order && sorted.is_valid());
        assert!(
            sorted.to_string().ends_with(
                "2 events in 1 input, 2026-01-01T00:00:00Z to 2026-01-02T00:00:00Z, in time order: a report reads it once, as it streams"
            ),
            "{sorted}"
        );
        let unsorted = check(&[B, A], false).unwrap();
        assert!(!unsorted.log.in_order);
        assert_eq!(unsorted.log.earliest, sorted.log.earliest);
    }

    #[test]
    fn lists_invalid_records_under_skip_invalid_and_stops_without() {
        let checked = check(&[A, "{", B, A], true).unwrap();
        assert!(!checked.is_valid());
        let text = checked.to_string();
        assert!(text.contains("log.jsonl:2: malformed JSON"), "{text}");
        assert!(
            text.contains("log.jsonl:4: field `id`: duplicate event id `a` (first seen at line 1)"),
            "{text}"
        );
        assert!(text.ends_with("; 2 invalid records"), "{text}");
        let error = check(&[A, "{"], false).unwrap_err().to_string();
        assert!(error.contains("log.jsonl:2: malformed JSON"), "{error}");
    }
}
