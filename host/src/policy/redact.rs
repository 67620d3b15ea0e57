//! Redaction: replacing customer identifiers with stable hashes, so that a
//! report can leave the audit room.
//!
//! The policy's `[redact] fields` names which event fields are identifiers.
//! While the log is read, a [`Redactor`] collects every value those fields
//! take; `--redact` then replaces each occurrence of any of them, anywhere
//! in the report (finding messages included, since rules quote ids), with
//! `[redacted:HASH]`. The hash depends only on the value (and the key, when
//! `COVENANT_REDACT_KEY` is set), so the same identifier hashes the same way
//! in every report and every format, and two redacted reports still diff.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::{Result, bail};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::events::Event;

/// An event field whose values are customer identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedactField {
    /// `tenant`.
    Tenant,
    /// `actor.id`.
    ActorId,
    /// `data.id`.
    DataId,
    /// `data.tenant`.
    DataTenant,
    /// `data.store`.
    DataStore,
    /// `data.sources`: the ids a derived item was computed from.
    DataSources,
    /// Any other top-level field, such as `subscription`, when it holds a
    /// string.
    Attribute(String),
}

impl RedactField {
    /// Parses a field name as the policy writes it.
    pub fn parse(name: &str) -> Result<RedactField> {
        Ok(match name {
            "tenant" => RedactField::Tenant,
            "actor.id" => RedactField::ActorId,
            "data.id" => RedactField::DataId,
            "data.tenant" => RedactField::DataTenant,
            "data.store" => RedactField::DataStore,
            "data.sources" => RedactField::DataSources,
            "id" | "time" | "action" => {
                bail!("`{name}` is not an identifier of customer data and cannot be redacted")
            }
            other if other.is_empty() || other.contains('.') => bail!(
                "unknown field `{other}`: use tenant, actor.id, data.id, data.tenant, data.store, data.sources or a top-level field name"
            ),
            other => RedactField::Attribute(other.to_string()),
        })
    }
}

impl std::fmt::Display for RedactField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RedactField::Tenant => "tenant",
            RedactField::ActorId => "actor.id",
            RedactField::DataId => "data.id",
            RedactField::DataTenant => "data.tenant",
            RedactField::DataStore => "data.store",
            RedactField::DataSources => "data.sources",
            RedactField::Attribute(name) => name,
        })
    }
}

/// Collects identifier values from events, then hides them in text.
#[derive(Debug)]
pub struct Redactor {
    fields: Vec<RedactField>,
    values: HashSet<String>,
    key: Vec<u8>,
}

impl Redactor {
    /// A redactor for `fields`, hashing with `key` (empty for a plain,
    /// unkeyed hash).
    pub fn new(fields: Vec<RedactField>, key: &[u8]) -> Redactor {
        Redactor {
            fields,
            values: HashSet::new(),
            key: key.to_vec(),
        }
    }

    /// Remembers the values `event` has in the redacted fields.
    pub fn observe(&mut self, event: &Event) {
        let data = event.data.as_ref();
        for field in &self.fields {
            let values: Vec<&str> = match field {
                RedactField::Tenant => event.tenant.as_deref().into_iter().collect(),
                RedactField::ActorId => event
                    .actor
                    .as_ref()
                    .and_then(|a| a.id.as_deref())
                    .into_iter()
                    .collect(),
                RedactField::DataId => data.and_then(|d| d.id.as_deref()).into_iter().collect(),
                RedactField::DataTenant => {
                    data.and_then(|d| d.tenant.as_deref()).into_iter().collect()
                }
                RedactField::DataStore => {
                    data.and_then(|d| d.store.as_deref()).into_iter().collect()
                }
                RedactField::DataSources => data
                    .map(|d| d.sources.iter().map(String::as_str).collect())
                    .unwrap_or_default(),
                RedactField::Attribute(name) => event
                    .extra
                    .get(name)
                    .and_then(|v| v.as_str())
                    .into_iter()
                    .collect(),
            };
            for value in values {
                if !value.is_empty() && !self.values.contains(value) {
                    self.values.insert(value.to_string());
                }
            }
        }
    }

    /// The stable stand-in for one identifier.
    pub fn hash(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("[redacted:{hex}]")
    }

    /// Builds the replacer for everything observed.
    pub fn finish(self) -> Redaction {
        // Longest first, so that `contoso-eu` is replaced whole rather than
        // as `contoso` followed by `-eu`.
        let mut values: Vec<String> = self.values.iter().cloned().collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let replacements = values.iter().map(|v| self.hash(v)).collect();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&values)
            .expect("identifier patterns always build");
        Redaction {
            matcher,
            replacements,
        }
    }
}

/// Replaces every collected identifier in text.
#[derive(Debug)]
pub struct Redaction {
    matcher: AhoCorasick,
    replacements: Vec<String>,
}

impl Redaction {
    /// `text` with each identifier that stands as a whole word replaced by
    /// its hash. "Whole word" means not inside a longer identifier (letters,
    /// digits, `-`, `_`), so that a tenant named `a` does not eat every `a`
    /// in a message, nor a store named `analytics` the end of the purpose
    /// `product-analytics`. A `.` ends a word: ids end sentences.
    pub fn apply(&self, text: &str) -> String {
        let within_word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for found in self.matcher.find_iter(text) {
            let before = text[..found.start()].chars().next_back();
            let after = text[found.end()..].chars().next();
            if before.is_some_and(within_word) || after.is_some_and(within_word) {
                continue;
            }
            out.push_str(&text[copied..found.start()]);
            out.push_str(&self.replacements[found.pattern().as_usize()]);
            copied = found.end();
        }
        out.push_str(&text[copied..]);
        out
    }

    /// Redacts a string in place.
    pub fn redact(&self, text: &mut String) {
        if self.matcher.patterns_len() > 0 {
            *text = self.apply(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::parse_event_text;

    fn redaction(fields: &[&str], events: &[serde_json::Value]) -> (Redactor, Redaction) {
        let fields = fields
            .iter()
            .map(|f| RedactField::parse(f).unwrap())
            .collect();
        let mut redactor = Redactor::new(fields, b"");
        for event in events {
            redactor.observe(&parse_event_text(&event.to_string()).unwrap());
        }
        let copy = Redactor::new(Vec::new(), b"");
        (copy, redactor.finish())
    }

    #[test]
    fn identifiers_are_replaced_everywhere_they_stand_alone() {
        let events = [serde_json::json!({
            "id": "e1", "time": "2026-01-01T00:00:00Z", "action": "read",
            "tenant": "a", "subscription": "sub-1",
            "data": {"id": "d1", "tenant": "contoso-eu", "sources": ["d0"]}
        })];
        let (hasher, redaction) = redaction(
            &[
                "tenant",
                "data.id",
                "data.tenant",
                "data.sources",
                "subscription",
            ],
            &events,
        );
        let text = "data d1 of contoso-eu (from d0, sub sub-1) read by tenant a at 10:00";
        let expected = format!(
            "data {} of {} (from {}, sub {}) read by tenant {} at 10:00",
            hasher.hash("d1"),
            hasher.hash("contoso-eu"),
            hasher.hash("d0"),
            hasher.hash("sub-1"),
            hasher.hash("a"),
        );
        assert_eq!(redaction.apply(text), expected);
        assert_eq!(redaction.apply("d10 and bad1"), "d10 and bad1");
        assert_eq!(
            redaction.apply("x-a, a_b, a."),
            format!("x-a, a_b, {}.", hasher.hash("a"))
        );
    }

    #[test]
    fn hashes_are_stable_and_depend_on_the_key() {
        let plain = Redactor::new(Vec::new(), b"");
        let keyed = Redactor::new(Vec::new(), b"secret");
        assert_eq!(plain.hash("contoso"), plain.hash("contoso"));
        assert_ne!(plain.hash("contoso"), plain.hash("fabrikam"));
        assert_ne!(plain.hash("contoso"), keyed.hash("contoso"));
        assert!(plain.hash("contoso").starts_with("[redacted:"));
    }

    #[test]
    fn only_identifier_fields_can_be_named() {
        assert!(RedactField::parse("time").is_err());
        assert!(RedactField::parse("data.category").is_err());
        assert_eq!(
            RedactField::parse("subscription").unwrap(),
            RedactField::Attribute("subscription".into())
        );
    }
}
