//! What a rule reads from an [`Event`] beyond its fields: the attributes
//! the schema does not name, and the words a finding cites it by.

use crate::{Event, Timestamp};

impl Event {
    /// The extra attribute `name` (a field the schema does not name), if
    /// the event has it and it is a JSON string. Logs carry what the schema
    /// does not name this way, such as a `share`'s `destination`.
    pub fn attribute(&self, name: &str) -> Option<String> {
        let attribute = self.extra.iter().find(|a| a.name == name)?;
        match serde_json::from_str(&attribute.json) {
            Ok(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The subscription the event belongs to: its `subscription` attribute,
    /// which the subscription-level commitments key their state by.
    pub fn subscription(&self) -> Option<String> {
        self.attribute("subscription")
    }

    /// The event as a finding names it, with its action:
    /// `event e7 (access at 2026-01-05T00:00:00Z)`.
    ///
    /// Findings about what an event did open with this, so that every
    /// rule's messages give an auditor the id, the action and the time in
    /// the same words: `format!("{} touches data d1 ...",
    /// event.cite_with_action())`.
    pub fn cite_with_action(&self) -> String {
        format!("event {} ({} at {})", self.id, self.action, self.time)
    }

    /// The event as a finding names it where the message says what it did
    /// in its own words: `event e7 at 2026-01-05T00:00:00Z`, as in `event
    /// e7 at ... turned data collection off`. An earlier event that state
    /// recorded is cited the same way, by [`Recorded::cite`].
    ///
    /// [`Recorded::cite`]: crate::Recorded::cite
    pub fn cite(&self) -> String {
        cite(&self.id, self.time)
    }
}

/// `event ID at TIME`, the one way findings cite an event by its id and
/// time, whether they have the event or only what was recorded of it.
pub(crate) fn cite(event_id: &str, time: Timestamp) -> String {
    format!("event {event_id} at {time}")
}

#[cfg(test)]
mod tests {
    use crate::testing::event;

    #[test]
    fn non_string_attributes_are_absent() {
        let mut e = event("e", "2026-01-01T00:00:00Z", "collect").build();
        e.extra.push(crate::Attribute {
            name: "subscription".into(),
            json: "42".into(),
        });
        assert_eq!(e.subscription(), None);
    }

    #[test]
    fn citations_give_the_id_and_time_and_perhaps_the_action() {
        let e = event("e7", "2026-01-05T08:00:00.5+08:00", "access").build();
        assert_eq!(e.cite(), "event e7 at 2026-01-05T00:00:00.500Z");
        assert_eq!(
            e.cite_with_action(),
            "event e7 (access at 2026-01-05T00:00:00.500Z)"
        );
    }
}
