//! The shipped profiles, embedded in the binary, and choosing an input's
//! format: named on the command line, or told from its first record.

use std::path::Path as FilePath;
use std::sync::{Arc, OnceLock};

use anyhow::{Result, bail};
use serde_json::Value;

use super::Mapping;

/// The shipped profiles' files, in the order `auto` tries them.
const PROFILES: [&str; 4] = [
    include_str!("profiles/cloudtrail.toml"),
    include_str!("profiles/cloudtrail-digest.toml"),
    include_str!("profiles/ocsf.toml"),
    include_str!("profiles/openlineage.toml"),
];

/// The shipped profiles, compiled once.
pub fn shipped() -> &'static [Arc<Mapping>] {
    static SHIPPED: OnceLock<Vec<Arc<Mapping>>> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        PROFILES
            .iter()
            .map(|text| {
                // The profiles are part of the binary, and a test compiles
                // each; one that does not is a bug of the build.
                Arc::new(Mapping::parse(text).expect("a shipped profile compiles"))
            })
            .collect()
    })
}

/// How the inputs of one run are to be read: `--input-format` and `--mapping`.
#[derive(Debug, Clone, Default)]
pub enum FormatChoice {
    /// Each file in the format its first record shows; schema v1 when it
    /// shows none of the shipped profiles'.
    #[default]
    Auto,
    /// Covenant's own schema v1, whatever the records look like.
    Covenant,
    /// Every input through this mapping.
    Mapping(Arc<Mapping>),
}

impl FormatChoice {
    /// The choice `--input-format NAME` makes.
    pub fn named(name: &str) -> Result<FormatChoice> {
        match name {
            "auto" => return Ok(FormatChoice::Auto),
            "covenant" => return Ok(FormatChoice::Covenant),
            _ => {}
        }
        match shipped().iter().find(|m| m.name() == name) {
            Some(mapping) => Ok(FormatChoice::Mapping(mapping.clone())),
            None => bail!(
                "unknown input format `{name}` (known: auto, covenant, {}; or give --mapping FILE)",
                shipped()
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The choice `--mapping FILE` makes.
    pub fn from_file(path: &FilePath) -> Result<FormatChoice> {
        Ok(FormatChoice::Mapping(Arc::new(Mapping::from_file(path)?)))
    }
}

/// What `auto` made of an input's first record.
#[derive(Debug, Clone)]
pub enum Detected {
    /// Schema v1.
    Covenant,
    /// A shipped profile's format.
    Mapping(Arc<Mapping>),
}

/// The format of an input whose first record (or, for a `.json` file,
/// whose whole document) is `first`.
///
/// A record that has the three fields every schema v1 event has is read as
/// one, and so is a record no profile recognises: then the v1 checks say
/// what is wrong with it, as they always have.
pub fn detect(first: &Value) -> Detected {
    let covenant = ["id", "time", "action"]
        .iter()
        .all(|field| first.get(field).is_some_and(Value::is_string));
    if covenant {
        return Detected::Covenant;
    }
    for mapping in shipped() {
        let record = match (mapping.container(), first) {
            (Some(key), Value::Object(map)) => match map.get(key).and_then(Value::as_array) {
                Some(records) => match records.first() {
                    Some(record) => record,
                    // An empty container is this format's file with
                    // nothing in it (CloudTrail writes them).
                    None => return Detected::Mapping(mapping.clone()),
                },
                None => first,
            },
            _ => first,
        };
        if mapping.recognises(record) {
            return Detected::Mapping(mapping.clone());
        }
    }
    Detected::Covenant
}
