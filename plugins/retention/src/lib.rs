//! `retention`: each data item is deleted within its limit, counted from its
//! first `store` or `derive`: 30 days for AI prompts and responses, 28 days
//! (14 + 14) for calculated data, 14 days for everything else.
//!
//! Exactly at the limit is compliant. Three things breach it: a `delete`
//! after the limit (reported on the creating event), no `delete` at all by
//! the report's as-of time (also on the creating event), and any other event
//! that touches the item after the limit (reported on that event).

use covenant_sdk::{
    Deadline, Event, EventRef, Field, Findings, KeyMap, Reads, Rule, Severity, Terms, Timestamp,
    export_rule,
};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rules.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Days raw collected data may be kept.
    pub default_days: u32,
    /// Days calculated data may be kept: data created by `derive`, or of a
    /// category in `calculated_categories`.
    pub calculated_days: u32,
    /// Days data of a category in `ai_categories` may be kept. This wins over
    /// the calculated limit, as the more specific commitment.
    pub ai_days: u32,
    pub calculated_categories: Terms,
    pub ai_categories: Terms,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_days: 14,
            calculated_days: 28,
            ai_days: 30,
            calculated_categories: Terms::new(["calculated"]),
            ai_categories: Terms::new(["ai-prompt", "ai-response"]),
        }
    }
}

/// What is known of one data item since its clock started, packed into 16
/// bytes, so that an item's map slot, with its 16-byte key, is 32: no id
/// text. Its findings are about the event that started the clock (whose id
/// and data id the host names), or about the event at hand.
///
/// The bits, from the lowest: the start's nanoseconds (30), the [`Limit`]
/// (2), `derived`, `deleted`, `late_delete_reported` (1 each), the start's
/// seconds (40, two's complement: every time RFC 3339 can write, years
/// 0000-9999, fits in 39), and the starting event's ordinal (53: 9 * 10^15
/// events). It is saved as [`ItemFields`], field by field.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
#[serde(from = "ItemFields", into = "ItemFields")]
struct Item([u64; 2]);

/// An [`Item`] unpacked: how it is saved, so that saved states do not
/// depend on the packing.
#[derive(Serialize, Deserialize)]
struct ItemFields {
    started_seconds: i64,
    event: EventRef,
    started_nanos: u32,
    limit: Limit,
    derived: bool,
    deleted: bool,
    late_delete_reported: bool,
}

/// Which of the commitment's limits applies to an item.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum Limit {
    Collected,
    Calculated,
    Ai,
}

const NANOS_BITS: u32 = 30;
const LIMIT_AT: u32 = NANOS_BITS;
const DERIVED: u128 = 1 << (LIMIT_AT + 2);
const DELETED: u128 = DERIVED << 1;
const LATE_DELETE_REPORTED: u128 = DERIVED << 2;
const SECONDS_AT: u32 = LIMIT_AT + 5;
const SECONDS_BITS: u32 = 40;
const EVENT_AT: u32 = SECONDS_AT + SECONDS_BITS;

impl Item {
    fn new(fields: ItemFields) -> Item {
        let seconds = fields.started_seconds;
        let fits = seconds.unsigned_abs() < 1 << (SECONDS_BITS - 1);
        assert!(
            fits,
            "retention cannot keep a start {seconds} seconds from 1970"
        );
        let ordinal = fields.event.ordinal();
        assert!(
            ordinal >> (128 - EVENT_AT) == 0,
            "retention cannot keep event {ordinal}"
        );
        let flag = |set: bool, bit: u128| if set { bit } else { 0 };
        let seconds = (seconds as u128) & ((1 << SECONDS_BITS) - 1);
        let bits = u128::from(fields.started_nanos)
            | (fields.limit as u128) << LIMIT_AT
            | flag(fields.derived, DERIVED)
            | flag(fields.deleted, DELETED)
            | flag(fields.late_delete_reported, LATE_DELETE_REPORTED)
            | seconds << SECONDS_AT
            | u128::from(ordinal) << EVENT_AT;
        Item([bits as u64, (bits >> 64) as u64])
    }

    fn bits(&self) -> u128 {
        u128::from(self.0[0]) | u128::from(self.0[1]) << 64
    }

    fn set(&mut self, flag: u128) {
        let bits = self.bits() | flag;
        self.0 = [bits as u64, (bits >> 64) as u64];
    }

    fn has(&self, flag: u128) -> bool {
        self.bits() & flag != 0
    }

    fn started(&self) -> Timestamp {
        let bits = self.bits();
        // Shifting the 40 bits to the top and back extends their sign.
        let seconds = ((bits >> SECONDS_AT) as i64) << (64 - SECONDS_BITS) >> (64 - SECONDS_BITS);
        Timestamp {
            seconds,
            nanos: (bits as u32) & ((1 << NANOS_BITS) - 1),
        }
    }

    fn event(&self) -> EventRef {
        EventRef::from_ordinal((self.bits() >> EVENT_AT) as u64)
    }

    fn limit(&self) -> Limit {
        match (self.bits() >> LIMIT_AT) & 3 {
            0 => Limit::Collected,
            1 => Limit::Calculated,
            _ => Limit::Ai,
        }
    }
}

impl From<ItemFields> for Item {
    fn from(fields: ItemFields) -> Item {
        Item::new(fields)
    }
}

impl From<Item> for ItemFields {
    fn from(item: Item) -> ItemFields {
        let started = item.started();
        ItemFields {
            started_seconds: started.seconds,
            event: item.event(),
            started_nanos: started.nanos,
            limit: item.limit(),
            derived: item.has(DERIVED),
            deleted: item.has(DELETED),
            late_delete_reported: item.has(LATE_DELETE_REPORTED),
        }
    }
}

/// The rule's state: one [`Item`] per data item whose clock has started,
/// keyed by the host's key for its id. It grows with the number of
/// distinct data items in the log.
#[derive(Serialize, Deserialize)]
pub struct Retention {
    config: Config,
    items: KeyMap<Item>,
}

impl Rule for Retention {
    const ID: &'static str = "retention";
    const DESCRIPTION: &'static str = "Each data item is deleted within its retention limit, counted from its first \
         store or derive (30 days for AI prompts and responses, 28 for calculated data, 14 \
         otherwise), and nothing touches it after the limit.";
    const COMMITMENT: &'static str = "When the cloud security graph collects data from Azure and other data source, \
         it retains the data for a 14 day period. After 14 days, the data is deleted. \
         Calculated data, might be kept for an additional 14 days. [...] The data is stored \
         securely [...] and stored for a duration of 30 days.";
    const SEVERITY: Severity = Severity::Medium;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(Retention {
            config,
            items: KeyMap::default(),
        })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[Field::DataId, Field::DataCategory])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let Some(data) = event.data else { return };
        let (Some(data_id), Some(key)) = (data.id, data.key) else {
            return;
        };
        let Some(item) = self.items.get(&key) else {
            if event.action == "store" || event.action == "derive" {
                let item = self.new_item(event);
                self.items.insert(key, item);
            }
            return;
        };

        let late = self.deadline(item).late_by(event.time);
        if event.action == "delete" {
            let report_late = late.filter(|_| !item.has(LATE_DELETE_REPORTED)).map(|late| {
                format!(
                    "data {data_id}, which this event {}, was deleted by {}, {late} after its deadline",
                    self.origin(item),
                    event.cite(),
                )
            });
            let item = self.items.get_mut(&key).expect("found above");
            item.set(DELETED);
            if let Some(message) = report_late {
                item.set(LATE_DELETE_REPORTED);
                findings.report(item.event(), message);
            }
        } else if let Some(late) = late {
            findings.report(
                event,
                format!(
                    "{} touches data {data_id} {late} after its deadline; the data was {}",
                    event.cite_with_action(),
                    self.origin(item)
                ),
            );
        }
    }

    fn finish(&mut self, as_of: Timestamp, findings: &mut Findings) {
        // Keys are random per audit, so the map's order is too: report in
        // the order the items' clocks started, which is the order of the
        // events that started them.
        let mut overdue: Vec<(&Item, String)> = (self.items.values())
            .filter(|item| !item.has(DELETED))
            .filter_map(|item| Some((item, self.deadline(item).late_by(as_of)?)))
            .collect();
        overdue.sort_by_key(|(item, _)| item.event());
        for (item, late) in overdue {
            findings.report(
                item.event(),
                format!(
                    "the data this event {} was still not deleted at {as_of}, {late} after its deadline",
                    self.origin(item)
                ),
            );
        }
    }
}

impl Retention {
    /// The item `event` creates, with the limit that applies to it.
    fn new_item(&self, event: &Event<'_>) -> Item {
        let category = event.data.and_then(|d| d.category);
        let config = &self.config;
        let listed = |list: &Terms| category.is_some_and(|c| list.contains(c));
        let derived = event.action == "derive";
        let limit = if listed(&config.ai_categories) {
            Limit::Ai
        } else if derived || listed(&config.calculated_categories) {
            Limit::Calculated
        } else {
            Limit::Collected
        };
        Item::new(ItemFields {
            started_seconds: event.time.seconds,
            started_nanos: event.time.nanos,
            event: EventRef::from(event),
            limit,
            derived,
            deleted: false,
            late_delete_reported: false,
        })
    }

    /// The days `limit` allows, and what the commitment calls its data.
    fn limit(&self, limit: Limit) -> (u32, &'static str) {
        match limit {
            Limit::Ai => (self.config.ai_days, "AI prompts and responses"),
            Limit::Calculated => (self.config.calculated_days, "calculated data"),
            Limit::Collected => (self.config.default_days, "collected data"),
        }
    }

    fn deadline(&self, item: &Item) -> Deadline {
        Deadline::days_after(item.started(), self.limit(item.limit()).0)
    }

    /// "stored at T (14-day limit for collected data, deadline D)".
    fn origin(&self, item: &Item) -> String {
        let (days, kind) = self.limit(item.limit());
        format!(
            "{} at {} ({days}-day limit for {kind}, deadline {})",
            if item.has(DERIVED) {
                "derived"
            } else {
                "stored"
            },
            item.started(),
            self.deadline(item)
        )
    }
}

export_rule!(Retention);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::DataKey;
    use covenant_sdk::testing::{
        TestEvent, conclude, evaluate, evaluate_resumed, event, event_ids,
    };

    #[test]
    fn an_item_and_its_key_take_32_bytes() {
        assert_eq!(std::mem::size_of::<(DataKey, Item)>(), 32);
    }

    #[test]
    fn an_item_keeps_every_field_through_its_packing() {
        for (seconds, nanos, ordinal) in [
            (1_767_225_600, 999_999_999, (1 << 53) - 1),
            (-62_167_219_200, 0, 0),
            (253_402_300_799, 1, 7),
        ] {
            for (limit, flags) in [
                (Limit::Collected, 0b000),
                (Limit::Calculated, 0b101),
                (Limit::Ai, 0b111),
            ] {
                let item = Item::new(ItemFields {
                    started_seconds: seconds,
                    event: EventRef::from_ordinal(ordinal),
                    started_nanos: nanos,
                    limit,
                    derived: flags & 1 != 0,
                    deleted: flags & 2 != 0,
                    late_delete_reported: flags & 4 != 0,
                });
                let fields = ItemFields::from(item);
                assert_eq!(
                    (fields.started_seconds, fields.started_nanos),
                    (seconds, nanos)
                );
                assert_eq!(fields.event, EventRef::from_ordinal(ordinal));
                assert_eq!(fields.limit as u8, limit as u8);
                let unpacked = [fields.derived, fields.deleted, fields.late_delete_reported];
                assert_eq!(unpacked, [flags & 1 != 0, flags & 2 != 0, flags & 4 != 0]);
            }
        }
    }

    fn flagged(events: &[TestEvent], as_of: &str) -> Vec<String> {
        let mut findings = evaluate::<Retention>("{}", events, as_of).unwrap();
        findings.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        event_ids(&findings).into_iter().map(String::from).collect()
    }

    fn store(id: &str, time: &str, data: &str) -> TestEvent {
        event(id, time, "store").tenant("a").data(data, "a")
    }

    fn delete(id: &str, time: &str, data: &str) -> TestEvent {
        event(id, time, "delete").tenant("a").data(data, "a")
    }

    #[test]
    fn a_log_cut_anywhere_and_resumed_reports_what_one_run_reports() {
        let events = [
            store("s1", "2026-01-01T00:00:00Z", "d1"),
            store("s2", "2026-01-02T00:00:00Z", "d2"),
            store("s3", "2026-01-03T00:00:00Z", "d3"),
            delete("x1", "2026-01-20T00:00:00Z", "d1"),
            event("a2", "2026-01-21T00:00:00Z", "access").data("d2", "a"),
            delete("x3", "2026-01-22T00:00:00Z", "d3"),
        ];
        let as_of = "2026-06-01T00:00:00Z";
        let whole = conclude::<Retention>("{}", &events, as_of).unwrap();
        assert_eq!(event_ids(&whole.findings), ["s1", "a2", "s3", "s2"]);
        for cut in 0..=events.len() {
            let resumed = evaluate_resumed::<Retention>("{}", &events, cut, as_of).unwrap();
            assert_eq!(resumed, whole, "cut before event {cut}");
        }
    }

    #[test]
    fn delete_exactly_at_the_limit_is_compliant() {
        let events = [
            store("s", "2026-01-01T00:00:00Z", "d"),
            delete("x", "2026-01-15T00:00:00Z", "d"),
        ];
        assert!(flagged(&events, "2026-06-01T00:00:00Z").is_empty());
    }

    #[test]
    fn delete_one_nanosecond_late_is_a_finding_on_the_creating_event() {
        let events = [
            store("s", "2026-01-01T00:00:00Z", "d"),
            delete("x", "2026-01-15T00:00:00.000000001Z", "d"),
        ];
        assert_eq!(flagged(&events, "2026-06-01T00:00:00Z"), ["s"]);
    }

    #[test]
    fn undeleted_item_past_its_limit_at_as_of_is_a_finding() {
        let events = [store("s", "2026-01-01T00:00:00Z", "d")];
        assert!(flagged(&events, "2026-01-15T00:00:00Z").is_empty());
        assert_eq!(flagged(&events, "2026-01-15T00:00:01Z"), ["s"]);
    }

    #[test]
    fn touching_an_item_after_its_limit_is_a_finding_on_that_event() {
        let events = [
            store("s", "2026-01-01T00:00:00Z", "d"),
            event("a1", "2026-01-15T00:00:00Z", "access").data("d", "a"),
            event("a2", "2026-01-15T00:00:01Z", "access").data("d", "a"),
            delete("x", "2026-01-10T00:00:00Z", "d"),
        ];
        let mut sorted = events.to_vec();
        sorted.sort_by(|x, y| (x.time(), x.id()).cmp(&(y.time(), y.id())));
        assert_eq!(flagged(&sorted, "2026-06-01T00:00:00Z"), ["a2"]);
    }

    #[test]
    fn calculated_data_has_28_days() {
        let derived = event("s", "2026-01-01T00:00:00Z", "derive").data("d", "a");
        let by_category = event("s2", "2026-01-01T00:00:00Z", "store")
            .data("d2", "a")
            .category("calculated");
        let events = [derived, by_category];
        assert!(flagged(&events, "2026-01-29T00:00:00Z").is_empty());
        assert_eq!(flagged(&events, "2026-01-29T00:00:01Z"), ["s", "s2"]);
    }

    #[test]
    fn ai_prompts_and_responses_have_30_days() {
        let events = [
            event("p", "2026-01-01T00:00:00Z", "store")
                .data("d1", "a")
                .category("ai-prompt"),
            event("r", "2026-01-01T00:00:00Z", "derive")
                .data("d2", "a")
                .category("ai-response"),
        ];
        assert!(flagged(&events, "2026-01-31T00:00:00Z").is_empty());
        assert_eq!(flagged(&events, "2026-01-31T00:00:01Z"), ["p", "r"]);
    }

    #[test]
    fn clock_starts_at_the_first_store_not_at_collection() {
        let events = [
            event("c", "2025-12-01T00:00:00Z", "collect").data("d", "a"),
            store("s", "2026-01-01T00:00:00Z", "d"),
            store("s2", "2026-01-10T00:00:00Z", "d"),
        ];
        assert!(flagged(&events, "2026-01-15T00:00:00Z").is_empty());
    }

    #[test]
    fn late_delete_is_reported_once() {
        let events = [
            store("s", "2026-01-01T00:00:00Z", "d"),
            delete("x1", "2026-02-01T00:00:00Z", "d"),
            delete("x2", "2026-02-02T00:00:00Z", "d"),
        ];
        let findings = evaluate::<Retention>("{}", &events, "2026-06-01T00:00:00Z").unwrap();
        assert_eq!(event_ids(&findings), ["s"]);
        assert!(
            findings[0].message.contains("deleted by event x1"),
            "{}",
            findings[0].message
        );
        assert!(
            findings[0].message.contains("17 days after its deadline"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_bad_limit_names_its_key() {
        let err = evaluate::<Retention>(r#"{"default_days": "x"}"#, &[], "2026-01-01T00:00:00Z")
            .unwrap_err();
        assert_eq!(
            err,
            r#"rule retention: config.default_days: invalid type: string "x", expected u32"#
        );
        let err = evaluate::<Retention>(r#"{"default_day": 1}"#, &[], "2026-01-01T00:00:00Z")
            .unwrap_err();
        assert!(
            err.starts_with("rule retention: config.default_day: unknown field `default_day`"),
            "{err}"
        );
    }

    #[test]
    fn limits_come_from_config() {
        let events = [store("s", "2026-01-01T00:00:00Z", "d")];
        let findings =
            evaluate::<Retention>(r#"{"default_days": 1}"#, &events, "2026-01-03T00:00:00Z")
                .unwrap();
        assert_eq!(event_ids(&findings), ["s"]);
    }
}
