//! Reading a JSON report back into the one [`Report`] model, with one
//! schema check, for the commands that take reports as input (`merge` and
//! `diff`): a field added to the report is read back wherever it is written.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{Report, SCHEMA};

/// Reads the `covenant/report/v1` JSON report at `path`, refusing, with the
/// path, anything that is not one.
pub fn read_json(path: &Path) -> Result<Report> {
    let name = path.display();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read report"))?;
    let not_a_report = || {
        format!(
            "{name}: not a Covenant JSON report (write one with `covenant report -o FILE.json`)"
        )
    };
    // The schema first, on its own: a report of another schema version may
    // not fit this one's shape, and deserves to be named as such.
    let value: serde_json::Value = serde_json::from_str(&text).with_context(not_a_report)?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            bail!("{name}: report schema is `{other}`, but this covenant reads `{SCHEMA}`")
        }
        None => bail!("{}", not_a_report()),
    }
    serde_json::from_value(value).with_context(not_a_report)
}
