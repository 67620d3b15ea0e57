use super::*;
use crate::events::chunks::{Block, Decode, Decoding};
use crate::events::parse::KeptAttributes;
use crate::events::parse_event_text;
use proptest::prelude::*;
use serde_json::json;

fn mapping(event: &str) -> Mapping {
    Mapping::parse(&format!("name = \"t\"\n{event}")).unwrap()
}

fn error_of(text: &str) -> String {
    format!("{:#}", Mapping::parse(text).unwrap_err())
}

const MINIMAL: &str = "[event]\nid = \"i\"\ntime = \"t\"\naction = \"a\"\n";

fn events(mapping: &Mapping, record: Value) -> Vec<Value> {
    match mapping.apply(&record.to_string()).unwrap() {
        Mapped::Events(texts) => texts
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect(),
        Mapped::Skipped => Vec::new(),
    }
}

#[test]
fn every_shipped_profile_compiles_and_is_named_for_the_command_line() {
    let names: Vec<&str> = shipped().iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        ["cloudtrail", "cloudtrail-digest", "ocsf", "openlineage"]
    );
    for mapping in shipped() {
        assert!(!mapping.description().is_empty(), "{}", mapping.name());
        assert!(matches!(
            FormatChoice::named(mapping.name()),
            Ok(FormatChoice::Mapping(_))
        ));
    }
}

#[test]
fn a_mapping_file_that_is_wrong_says_where() {
    let cases: Vec<(String, &str)> = vec![
        ("name = \"t\"\n".into(), "missing field `event`"),
        (format!("name = \"T t\"\n{MINIMAL}"), "lower-case letters"),
        (
            format!("name = \"auto\"\n{MINIMAL}"),
            "taken by `--input-format`",
        ),
        (
            "name = \"t\"\n[event]\ntime = \"t\"\naction = \"a\"\n".into(),
            "`event.id` is required",
        ),
        (
            format!("name = \"t\"\nsurprise = 1\n{MINIMAL}"),
            "unknown field `surprise`",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}region = \"a[\"\n"),
            "`event.region`: path `a[`",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}region = {{ template = \"{{a|shout}}\" }}\n"),
            "unknown filter `shout`",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}region = {{ path = \"a\", const = \"b\" }}\n"),
            "exactly one of",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}region = {{ path = \"a\", map = \"nowhere\" }}\n"),
            "no `[maps.nowhere]` table",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}region = {{ each = \"x[*]\", path = \"@\" }}\n"),
            "`each` is only for `event.data.sources`",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}region = {{ path = \"a\", format = \"epoch-ms\" }}\n"),
            "`format` is only for `event.time`",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}region = 7\n"),
            "expected a path, a list or a table, found integer",
        ),
        (
            format!("name = \"t\"\n{MINIMAL}[extra]\ntenant = \"x\"\n"),
            "`extra.tenant` is a schema field",
        ),
        (
            format!("name = \"t\"\n[records]\nrepeats = \"sometimes\"\n{MINIMAL}"),
            "`fold` or `error`",
        ),
        (
            format!("name = \"t\"\ndetect = \"a[ && b\"\n{MINIMAL}"),
            "`detect`",
        ),
    ];
    for (text, says) in cases {
        let error = error_of(&text);
        assert!(error.contains(says), "{text}\n=> {error}");
    }
}

#[test]
fn a_record_with_no_id_or_time_or_a_bad_time_is_an_error_naming_the_fields_looked_at() {
    let m = mapping("[event]\nid = [\"a\", \"b\"]\ntime = \"t\"\naction = { const = \"x\" }\n");
    let apply = |v: Value| m.apply(&v.to_string()).unwrap_err();
    assert_eq!(
        apply(json!({"t": "2026-01-01T00:00:00Z"})),
        "mapped as t: no `id` (looked at [\"a\", \"b\"])"
    );
    assert_eq!(
        apply(json!({"a": "e"})),
        "mapped as t: no `time` (looked at \"t\")"
    );
    assert!(apply(json!({"a": "e", "t": "noon"})).starts_with("time `noon`: "));
    assert_eq!(
        m.apply("[1]").unwrap_err(),
        "a t record must be a JSON object, not a list"
    );
    assert!(
        m.apply("{\"a\":")
            .unwrap_err()
            .starts_with("malformed JSON: ")
    );
}

#[test]
fn epoch_times_in_every_unit_read_as_the_same_instant() {
    for (format, value) in [
        ("epoch-s", json!(1772355600)),
        ("epoch-ms", json!(1772355600000i64)),
        ("epoch-us", json!("1772355600000000")),
    ] {
        let m = mapping(&format!(
            "[event]\nid = \"i\"\ntime = {{ path = \"t\", format = \"{format}\" }}\naction = {{ const = \"x\" }}\n"
        ));
        let got = events(&m, json!({"i": "e", "t": value}));
        assert_eq!(got[0]["time"], "2026-03-01T09:00:00Z", "{format}");
    }
    let m = mapping(
        "[event]\nid = \"i\"\ntime = { path = \"t\", format = \"epoch-ms\" }\naction = { const = \"x\" }\n",
    );
    assert_eq!(
        events(&m, json!({"i": "e", "t": -1}))[0]["time"],
        "1969-12-31T23:59:59.999Z"
    );
    assert!(
        m.apply(&json!({"i": "e", "t": 1e30}).to_string())
            .unwrap_err()
            .contains("whole number of milliseconds")
    );
    assert!(
        m.apply(&json!({"i": "e", "t": i64::MAX}).to_string())
            .unwrap_err()
            .contains("out of range")
    );
}

#[test]
fn a_digest_id_is_the_same_for_the_same_record_however_it_is_written() {
    let m =
        mapping("[event]\nid = { digest = \"x:\" }\ntime = \"t\"\naction = { const = \"a\" }\n");
    let one = m
        .apply(r#"{"t":"2026-01-01T00:00:00Z","b":{"y":1,"x":2}}"#)
        .unwrap();
    let other = m
        .apply(r#"{ "b" : {"x":2,"y":1}, "t":"2026-01-01T00:00:00Z"}"#)
        .unwrap();
    assert_eq!(one, other);
    let Mapped::Events(texts) = one else { panic!() };
    let id = serde_json::from_str::<Value>(&texts[0]).unwrap()["id"].clone();
    assert_eq!(id.as_str().unwrap().len(), "x:".len() + 16);
}

#[test]
fn fan_out_numbers_its_events_and_a_lone_element_keeps_the_record_id() {
    let m = mapping(
        "[records]\neach = \"items[*]\"\n[event]\nid = \"i\"\ntime = \"t\"\naction = { const = \"store\" }\n[event.data]\nid = \"@.name\"\n",
    );
    let base = |items: Value| json!({"i": "e", "t": "2026-01-01T00:00:00Z", "items": items});
    let ids = |v| -> Vec<(String, String)> {
        events(&m, v)
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap().into(),
                    e["data"]["id"].as_str().unwrap_or("-").into(),
                )
            })
            .collect()
    };
    assert_eq!(
        ids(base(json!([{"name": "a"}, {"name": "b"}]))),
        [("e#0".into(), "a".into()), ("e#1".into(), "b".into())]
    );
    assert_eq!(
        ids(base(json!([{"name": "a"}]))),
        [("e".into(), "a".into())]
    );
    assert_eq!(
        ids(base(json!([]))),
        [("e".into(), "-".into())],
        "no elements: the record is one event"
    );
}

#[test]
fn skip_conditions_and_unmapped_actions_leave_a_record_out() {
    let m = mapping(
        "[records]\nskip = [\"err\"]\n[event]\nid = \"i\"\ntime = \"t\"\naction = { path = \"op\", map = { Get = \"access\" } }\n",
    );
    let apply = |v: Value| m.apply(&v.to_string()).unwrap();
    let t = "2026-01-01T00:00:00Z";
    assert_eq!(
        apply(json!({"i": "e", "t": t, "op": "Head"})),
        Mapped::Skipped
    );
    assert_eq!(
        apply(json!({"i": "e", "t": t, "op": "Get", "err": "Denied"})),
        Mapped::Skipped
    );
    assert!(matches!(
        apply(json!({"i": "e", "t": t, "op": "Get", "err": null})),
        Mapped::Events(_)
    ));
}

#[test]
fn auto_detection_tells_the_shipped_formats_and_schema_v1_apart() {
    let name = |v: Value| match detect(&v) {
        Detected::Covenant => "covenant".to_string(),
        Detected::Mapping(m) => m.name().to_string(),
    };
    let trail = json!({"eventVersion": "1.11", "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "2026-01-01T00:00:00Z"});
    assert_eq!(name(json!({"Records": [trail.clone()]})), "cloudtrail");
    assert_eq!(name(json!({"Records": []})), "cloudtrail");
    assert_eq!(name(trail.clone()), "cloudtrail");
    assert_eq!(
        name(json!({"detail-type": "AWS API Call via CloudTrail", "detail": trail})),
        "cloudtrail"
    );
    assert_eq!(
        name(json!({"digestStartTime": "x", "logFiles": []})),
        "cloudtrail-digest"
    );
    assert_eq!(
        name(
            json!({"class_uid": 6003, "activity_id": 2, "time": 1, "metadata": {"version": "1.1.0", "product": {"name": "p"}}})
        ),
        "ocsf"
    );
    assert_eq!(
        name(
            json!({"eventTime": "x", "producer": "p", "run": {"runId": "r"}, "job": {"namespace": "n", "name": "j"}})
        ),
        "openlineage"
    );
    assert_eq!(
        name(json!({"id": "e", "time": "x", "action": "a"})),
        "covenant"
    );
    assert_eq!(
        name(json!({"something": "else"})),
        "covenant",
        "the v1 checks say what is wrong"
    );
}

/// JSON records made of the names and values the shipped profiles read,
/// so that random ones reach their every branch.
fn record() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "eventID",
        "eventTime",
        "eventSource",
        "eventName",
        "eventVersion",
        "errorCode",
        "userIdentity",
        "type",
        "accountId",
        "arn",
        "requestParameters",
        "bucketName",
        "key",
        "x-amz-copy-source",
        "resources",
        "ARN",
        "uid",
        "delete",
        "objects",
        "detail",
        "class_uid",
        "activity_id",
        "time",
        "time_dt",
        "metadata",
        "version",
        "product",
        "api",
        "operation",
        "service",
        "name",
        "actor",
        "user",
        "type_id",
        "file",
        "file_result",
        "path",
        "eventType",
        "run",
        "runId",
        "job",
        "namespace",
        "inputs",
        "outputs",
        "producer",
        "facets",
        "tags",
        "value",
        "status_id",
        "Records",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0i64..4_000_000_000_000).prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "GetObject",
            "CopyObject",
            "DeleteObjects",
            "s3.amazonaws.com",
            "COMPLETE",
            "AWS::S3::Object",
            "2026-03-01T09:00:00Z",
            "2026-13-01T00:00:00Z",
            "AssumedRole",
            "arn:aws:s3:::b/k",
            "%zz",
            "DROP",
            "1.1.0",
            "3",
            "tenant",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone().prop_map(str::to_string), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever a record holds, a shipped profile either maps it to events
    /// that pass the v1 checks, or the reader rejects it with a message:
    /// a mapping never makes an event the rules would not accept.
    #[test]
    fn a_mapped_record_is_valid_events_or_a_reported_error(record in record()) {
        let text = record.to_string();
        let hasher = crate::events::ids::IdLedger::new(1 << 10).hasher();
        for mapping in shipped() {
            let mut block = Block::default();
            let how = Decoding { decode: Decode::Events, hasher: &hasher, threads: 1, mapping: Some(mapping), kept: KeptAttributes::All };
            block.decode(1, &text, &how);
            let mut events = block.events.iter();
            for outcome in &block.records {
                match &outcome.outcome {
                    Ok(_) => {
                        let event = events.next().expect("an event for each valid record");
                        prop_assert!(!event.id.is_empty());
                    }
                    Err(reason) => prop_assert!(!reason.is_empty()),
                }
            }
            if let Ok(Mapped::Events(texts)) = mapping.apply(&text) {
                let valid = texts.iter().all(|t| parse_event_text(t).is_ok());
                prop_assert_eq!(valid, block.records.iter().all(|r| r.outcome.is_ok()));
            }
        }
    }
}
