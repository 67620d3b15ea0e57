//! The yardstick every throughput target is a ratio to: what a user would
//! write in an afternoon to read a schema-v1 log. One thread reads each
//! file line by line and parses every line with `serde_json` into owned
//! structs of the v1 fields, with no checks at all: no time parsing, no
//! unique ids, no limits, no hashing. It prints the number of events.
//!
//!   cargo run --release -p covenant --example serde_baseline -- LOG...
//!
//! `host/benches/throughput.sh` runs it as its `serde-baseline` row, in the
//! same run as the rows it is compared with (BENCHMARKS.md).

use std::io::BufRead;

use serde::Deserialize;

/// An event's v1 fields, owned; any other field is skipped.
#[derive(Deserialize)]
#[allow(dead_code)] // Parsed to be measured, never read.
struct Event {
    id: String,
    time: String,
    action: String,
    tenant: Option<String>,
    actor: Option<Actor>,
    purpose: Option<String>,
    scope: Option<String>,
    layer: Option<String>,
    region: Option<String>,
    data: Option<DataItem>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Actor {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DataItem {
    id: Option<String>,
    category: Option<String>,
    tenant: Option<String>,
    store: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut events: u64 = 0;
    for path in std::env::args_os().skip(1) {
        let file = std::fs::File::open(&path)?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let event: Event = serde_json::from_str(&line)?;
            std::hint::black_box(&event);
            events += 1;
        }
    }
    println!("{events} events");
    Ok(())
}
