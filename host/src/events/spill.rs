//! The sorter's spill format: events as compact binary records, so that a
//! log out of time order costs a copy of its bytes on disk, not a JSON
//! encoding and decoding of every event.
//!
//! A record is the event's fields in declaration order: a string as its
//! length (u32, little-endian) and UTF-8 bytes; an optional value as a tag
//! byte (0 absent, 1 present) and the value; a list as its length and its
//! items; the time as seconds (i64) and nanoseconds (u32); an attribute as
//! its name and its JSON text. Spill files are the host's own, unlinked
//! temporary files, read back by the same build, so the format has no
//! version.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use serde_json::Value;

use super::{Actor, DataItem, Event, Timestamp};

/// Writes `event` as one record.
pub fn write_event(out: &mut impl Write, event: &Event) -> io::Result<()> {
    write_str(out, &event.id)?;
    out.write_all(&event.time.seconds.to_le_bytes())?;
    out.write_all(&event.time.nanos.to_le_bytes())?;
    write_str(out, &event.action)?;
    write_opt(out, &event.tenant)?;
    match &event.actor {
        None => out.write_all(&[0])?,
        Some(actor) => {
            out.write_all(&[1])?;
            write_str(out, &actor.kind)?;
            write_opt(out, &actor.id)?;
        }
    }
    for field in [&event.purpose, &event.scope, &event.layer, &event.region] {
        write_opt(out, field)?;
    }
    match &event.data {
        None => out.write_all(&[0])?,
        Some(data) => {
            out.write_all(&[1])?;
            for field in [&data.id, &data.category, &data.tenant, &data.store] {
                write_opt(out, field)?;
            }
            write_len(out, data.sources.len())?;
            for source in &data.sources {
                write_str(out, source)?;
            }
            write_attributes(out, &data.extra)?;
        }
    }
    write_attributes(out, &event.extra)
}

/// Reads the record [`write_event`] wrote.
pub fn read_event(input: &mut impl Read) -> io::Result<Event> {
    let id = read_str(input)?;
    let seconds = i64::from_le_bytes(read_array(input)?);
    let nanos = u32::from_le_bytes(read_array(input)?);
    let action = read_str(input)?;
    let tenant = read_opt(input)?;
    let actor = match read_tag(input)? {
        false => None,
        true => Some(Actor {
            kind: read_str(input)?,
            id: read_opt(input)?,
        }),
    };
    let (purpose, scope, layer, region) = (
        read_opt(input)?,
        read_opt(input)?,
        read_opt(input)?,
        read_opt(input)?,
    );
    let data = match read_tag(input)? {
        false => None,
        true => Some(DataItem {
            id: read_opt(input)?,
            category: read_opt(input)?,
            tenant: read_opt(input)?,
            store: read_opt(input)?,
            sources: (0..read_len(input)?)
                .map(|_| read_str(input))
                .collect::<io::Result<_>>()?,
            extra: read_attributes(input)?,
        }),
    };
    Ok(Event {
        id,
        time: Timestamp { seconds, nanos },
        action,
        tenant,
        actor,
        purpose,
        scope,
        layer,
        region,
        data,
        extra: read_attributes(input)?,
    })
}

fn write_len(out: &mut impl Write, len: usize) -> io::Result<()> {
    let len = u32::try_from(len).map_err(|_| io::Error::other("a field of 4 GiB or more"))?;
    out.write_all(&len.to_le_bytes())
}

fn write_str(out: &mut impl Write, text: &str) -> io::Result<()> {
    write_len(out, text.len())?;
    out.write_all(text.as_bytes())
}

fn write_opt(out: &mut impl Write, text: &Option<String>) -> io::Result<()> {
    match text {
        None => out.write_all(&[0]),
        Some(text) => {
            out.write_all(&[1])?;
            write_str(out, text)
        }
    }
}

fn write_attributes(out: &mut impl Write, attributes: &BTreeMap<String, Value>) -> io::Result<()> {
    write_len(out, attributes.len())?;
    for (name, value) in attributes {
        write_str(out, name)?;
        write_str(out, &value.to_string())?;
    }
    Ok(())
}

fn read_array<const N: usize>(input: &mut impl Read) -> io::Result<[u8; N]> {
    let mut bytes = [0; N];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn read_len(input: &mut impl Read) -> io::Result<u32> {
    Ok(u32::from_le_bytes(read_array(input)?))
}

fn read_tag(input: &mut impl Read) -> io::Result<bool> {
    match read_array::<1>(input)? {
        [0] => Ok(false),
        [1] => Ok(true),
        [other] => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a presence tag of {other}"),
        )),
    }
}

fn read_str(input: &mut impl Read) -> io::Result<String> {
    let mut bytes = vec![0; read_len(input)? as usize];
    input.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn read_opt(input: &mut impl Read) -> io::Result<Option<String>> {
    read_tag(input)?.then(|| read_str(input)).transpose()
}

fn read_attributes(input: &mut impl Read) -> io::Result<BTreeMap<String, Value>> {
    (0..read_len(input)?)
        .map(|_| {
            let name = read_str(input)?;
            let value = serde_json::from_str(&read_str(input)?)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            Ok((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips() {
        let text = r#"{"id":"e1","time":"2026-01-01T00:00:00.5Z","action":"derive","tenant":"a",
            "actor":{"type":"personnel","id":"p"},"purpose":"x","scope":"ai-training","layer":"portal",
            "region":"westeurope","data":{"id":"d","category":"c","tenant":"b","store":"s",
            "sources":["s1","s2"],"size":{"bytes":[1,2.5,null]}},"note":"ü"}"#;
        let event = crate::events::parse_event_text(text).unwrap();
        let sparse = crate::events::parse_event_text(
            r#"{"id":"e2","time":"2026-01-01T00:00:00Z","action":"store"}"#,
        )
        .unwrap();
        let mut bytes = Vec::new();
        write_event(&mut bytes, &event).unwrap();
        write_event(&mut bytes, &sparse).unwrap();
        let mut input = bytes.as_slice();
        assert_eq!(read_event(&mut input).unwrap(), event);
        assert_eq!(read_event(&mut input).unwrap(), sparse);
        assert!(input.is_empty());
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_wrong_event() {
        let event = crate::events::parse_event_text(
            r#"{"id":"e2","time":"2026-01-01T00:00:00Z","action":"store"}"#,
        )
        .unwrap();
        let mut bytes = Vec::new();
        write_event(&mut bytes, &event).unwrap();
        assert!(read_event(&mut &bytes[..bytes.len() - 1]).is_err());
        let last = bytes.len() - 8; // a presence tag (scope's)
        bytes[last] = 7;
        assert!(read_event(&mut bytes.as_slice()).is_err());
    }
}
