//! What a rule reads from an [`Event`] beyond its fields: the attributes
//! the schema does not name.

use crate::Event;

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
}

#[cfg(test)]
mod tests {
    use crate::testing::event;

    #[test]
    fn non_string_attributes_are_absent() {
        let mut e = event("e", "2026-01-01T00:00:00Z", "collect");
        e.extra.push(crate::Attribute {
            name: "subscription".into(),
            json: "42".into(),
        });
        assert_eq!(e.subscription(), None);
    }
}
