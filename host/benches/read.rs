//! Parse-only throughput: reading and decoding a generated log with no rule
//! at all, the practical limit for a report's speed, and the same through
//! the time sorter, which a report uses only for a log out of time order.
//! `host/benches/throughput.sh` times whole runs with rules beside it.
//! The `formats` group reads the same log gzip- and zstd-compressed, and
//! CloudTrail records mapped to events, against the plain file.
//!
//!   cargo bench -p covenant --bench read

use std::io::Write;

use covenant::events::{DEFAULT_RUN_LEN, EventReader, TimeOrder};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod support;

use support::EVENTS;

fn parse_only(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = support::generated_log(dir.path());
    let bytes = std::fs::metadata(&path).unwrap().len();

    let mut group = c.benchmark_group("parse-only");
    group.sample_size(10);
    for (unit, throughput) in [
        ("events", Throughput::Elements(EVENTS)),
        ("bytes", Throughput::Bytes(bytes)),
    ] {
        group.throughput(throughput);
        group.bench_function(format!("read {EVENTS} events ({unit})"), |b| {
            b.iter(|| {
                let reader = EventReader::from_paths(std::slice::from_ref(&path)).unwrap();
                let log = reader.read(false, |_| Ok(())).unwrap();
                assert_eq!(log.events, EVENTS);
            })
        });
        group.bench_function(format!("read and sort {EVENTS} events ({unit})"), |b| {
            b.iter(|| {
                let reader = EventReader::from_paths(std::slice::from_ref(&path)).unwrap();
                let mut order = TimeOrder::new(DEFAULT_RUN_LEN);
                reader.read(false, |event| order.push(event)).unwrap();
                let sorted = order.into_sorted().unwrap().count();
                assert_eq!(sorted as u64, EVENTS);
            })
        });
    }
    group.finish();
}

/// The reader on compressed and mapped input, against the plain log.
fn formats(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let plain = support::generated_log(dir.path());
    let text = std::fs::read(&plain).unwrap();
    let gz = dir.path().join("generated.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&text).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let zst = dir.path().join("generated.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(&text[..], 3).unwrap()).unwrap();
    let trail = dir.path().join("cloudtrail.jsonl");
    std::fs::write(&trail, cloudtrail_lines(EVENTS)).unwrap();

    let mut group = c.benchmark_group("formats");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS));
    for (name, path) in [
        ("plain jsonl", &plain),
        ("jsonl.gz (level 6)", &gz),
        ("jsonl.zst (level 3)", &zst),
        ("cloudtrail lines, mapped", &trail),
    ] {
        group.bench_function(format!("read {EVENTS} events, {name}"), |b| {
            b.iter(|| {
                let reader = EventReader::from_paths(std::slice::from_ref(path)).unwrap();
                let log = reader.read(false, |_| Ok(())).unwrap();
                assert_eq!(log.events, EVENTS);
            })
        });
    }
    group.finish();

    // The mapping alone, one record at a time, against parsing that record
    // into a `serde_json::Value`, which mapping starts with.
    let lines = cloudtrail_lines(1_000);
    let records: Vec<&str> = std::str::from_utf8(&lines).unwrap().lines().collect();
    let choice = covenant::events::mapping::FormatChoice::named("cloudtrail").unwrap();
    let covenant::events::mapping::FormatChoice::Mapping(mapping) = choice else {
        unreachable!("cloudtrail is a mapping")
    };
    let mut group = c.benchmark_group("mapping");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("parse 1000 cloudtrail records to serde_json::Value", |b| {
        b.iter(|| {
            for record in &records {
                std::hint::black_box(serde_json::from_str::<serde_json::Value>(record).unwrap());
            }
        })
    });
    group.bench_function("map 1000 cloudtrail records to event texts", |b| {
        b.iter(|| {
            for record in &records {
                std::hint::black_box(mapping.apply(record).unwrap());
            }
        })
    });
    group.finish();
}

/// `events` CloudTrail S3 data events, one a line, about 700 bytes each:
/// reads, writes, copies and deletes over 1,000 buckets.
fn cloudtrail_lines(events: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let names = ["GetObject", "PutObject", "CopyObject", "DeleteObject"];
    for i in 0..events {
        let bucket = format!("tenant-{:04}", i % 1_000);
        let account = format!("{:012}", 100_000_000_000 + i % 1_000);
        let mut record = serde_json::json!({
            "eventVersion": "1.11",
            "eventID": format!("{i:08x}-0000-4000-8000-000000000000"),
            "eventTime": covenant::events::Timestamp::from_unix(1_772_323_200 + i as i64, 0).unwrap().to_rfc3339(),
            "eventSource": "s3.amazonaws.com",
            "eventName": names[(i % 4) as usize],
            "eventCategory": "Data",
            "readOnly": i % 4 == 0,
            "awsRegion": "eu-west-1",
            "recipientAccountId": account,
            "requestID": format!("REQ{i:012}"),
            "sourceIPAddress": "192.0.2.10",
            "userAgent": "aws-sdk-java/2.25",
            "userIdentity": {
                "type": "AssumedRole",
                "accountId": account,
                "arn": format!("arn:aws:sts::{account}:assumed-role/etl/job-{}", i % 7),
            },
            "requestParameters": {
                "bucketName": bucket,
                "key": format!("objects/{}.json", i % 50_000),
            },
            "resources": [
                {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/objects/{}.json", i % 50_000)},
                {"type": "AWS::S3::Bucket", "accountId": account, "ARN": format!("arn:aws:s3:::{bucket}")},
            ],
        });
        if i % 4 == 2 {
            record["requestParameters"]["x-amz-copy-source"] =
                format!("{bucket}/staging/{}.json", i % 50_000).into();
        }
        serde_json::to_writer(&mut out, &record).unwrap();
        out.push(b'\n');
    }
    out
}

criterion_group!(benches, parse_only, formats);
criterion_main!(benches);
