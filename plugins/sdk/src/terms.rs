//! The one case rule every rule follows: configured vocabulary (purposes,
//! categories, regions, plan and setting values, destinations, layers,
//! stores, actor kinds) matches an event's value without regard to ASCII
//! case, so `ChinaEast` is a China region and `Defender-XDR` is the XDR
//! destination; identifiers (event, data, tenant and subscription ids)
//! match exactly, because `Contoso` and `contoso` may be two customers.

use serde::{Deserialize, Serialize};

/// A configured list of vocabulary values, such as the allowed purposes,
/// read from a policy's list of strings. [`Terms::contains`] is the case
/// rule; the list itself keeps the policy's spelling, for messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Terms(Vec<String>);

impl Terms {
    /// The terms `values`, as a rule's defaults name them.
    pub fn new<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Terms {
        Terms(values.into_iter().map(Into::into).collect())
    }

    /// Whether `value` is one of the terms, without regard to ASCII case.
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|term| same_term(term, value))
    }

    /// The terms as the policy spells them.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The terms joined by `separator`, for a message.
    pub fn join(&self, separator: &str) -> String {
        self.0.join(separator)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether two vocabulary values are the same term: equal without regard
/// to ASCII case. For a single configured value, such as the store that is
/// Resource Graph.
pub fn same_term(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_match_without_regard_to_ascii_case_only() {
        let regions = Terms::new(["chinaeast", "Defender-XDR"]);
        assert!(regions.contains("ChinaEast"));
        assert!(regions.contains("defender-xdr"));
        assert!(!regions.contains("chinaeast2"));
        assert!(!regions.contains(""));
        // Only ASCII folds: a dotless ı is not an i.
        assert!(!Terms::new(["ai"]).contains("aı"));
        let parsed: Terms = serde_json::from_str(r#"["a", "B"]"#).unwrap();
        assert_eq!(parsed.as_slice(), ["a", "B"]);
        assert_eq!(parsed.join(", "), "a, B");
    }
}
