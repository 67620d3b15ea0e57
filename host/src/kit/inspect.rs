//! `covenant plugin inspect`: what a plugin is, and whether this host will
//! run it, read without giving it a single event.
//!
//! The verdict comes from [`PluginRuntime::load`], the same validation every
//! policy run does before reading events, so a plugin that inspects clean
//! loads in a report and one that does not fails there for the same reason.

use anyhow::{Result, anyhow};

use crate::policy::{Limits, PluginRef, sha256_hex};
use crate::runtime::cache::EntryStatus;
use crate::runtime::{
    ComponentInterface, ImportSupport, PluginRuntime, RULE_INTERFACE, RuleMetadata, RuleReads,
    interface_majors,
};

/// Everything `plugin inspect` reports about one plugin.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The plugin as named on the command line.
    pub source: String,
    /// The plugin's size, in bytes.
    pub size: usize,
    /// Hex SHA-256 of the plugin's bytes, as a policy's `sha256` pins it.
    pub sha256: String,
    /// What the component imports and exports, read without running it.
    pub interface: ComponentInterface,
    /// Whether the compiled-plugin cache held a trusted entry for it,
    /// judged before this inspection compiled it.
    pub cache: EntryStatus,
    /// What the plugin says about itself, or why this host refuses it.
    pub verdict: Result<RuleMetadata, String>,
    /// What the rule declares it reads, asked of an evaluator built with an
    /// empty configuration (a policy's may differ), or why it could not be
    /// asked; `None` when the plugin does not load.
    pub reads: Option<Result<RuleReads, String>>,
}

/// Inspects `plugin`. Fails only when its bytes cannot be read or are not a
/// component at all; a component that does not fit the interface is an
/// inspection with a refusing verdict.
pub fn inspect(runtime: &PluginRuntime, plugin: &PluginRef) -> Result<Inspection> {
    let bytes = plugin.read().map_err(|reason| anyhow!(reason))?;
    let cache = runtime.cache_status(&bytes);
    let interface = runtime
        .interface(&bytes)
        .map_err(|e| anyhow!("{plugin}: {e:#}"))?;
    let loaded = runtime.load(&bytes, Limits::default());
    let reads = match &loaded {
        Ok(loaded) => Some(
            (loaded.start("{}"))
                .map(|instance| instance.reads())
                .map_err(|e| format!("{e:#}")),
        ),
        Err(_) => None,
    };
    let verdict = loaded
        .map(|loaded| loaded.metadata().clone())
        .map_err(|e| format!("{e:#}"));
    Ok(Inspection {
        source: plugin.to_string(),
        size: bytes.len(),
        sha256: sha256_hex(&bytes),
        interface,
        cache,
        verdict,
        reads,
    })
}

impl Inspection {
    /// The inspection as aligned text for a terminal or a review comment.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |label: &str, value: &str| {
            out.push_str(&format!("{label:<11}{value}\n"));
        };
        line("plugin", &self.source);
        line(
            "size",
            &format!("{} bytes ({})", self.size, human_size(self.size)),
        );
        line("sha256", &self.sha256);
        line(
            "",
            &format!("pin it in a policy: sha256 = \"{}\"", self.sha256),
        );
        line("cache", &self.cache.to_string());
        line("world", &self.world());
        line("exports", &list_or_none(&self.interface.exports));
        if self.interface.imports.is_empty() {
            line("imports", "none");
        }
        let width = self
            .interface
            .imports
            .iter()
            .map(|(name, _)| name.len())
            .max()
            .unwrap_or(0);
        for (n, (name, support)) in self.interface.imports.iter().enumerate() {
            let given = match support {
                ImportSupport::Provided(given) => (*given).to_string(),
                ImportSupport::Refused => {
                    "REFUSED: the sandbox offers no such interface".to_string()
                }
            };
            let label = if n == 0 { "imports" } else { "" };
            line(label, &format!("{name:<width$}  {given}"));
        }
        match &self.verdict {
            Ok(rule) => {
                line(
                    "rule",
                    &format!("{} {}, severity {}", rule.id, rule.version, rule.severity),
                );
                line("", &rule.description);
                line("commitment", &rule.commitment);
                match &self.reads {
                    None => {}
                    Some(Ok(reads)) => line("reads", &describe_reads(reads)),
                    Some(Err(reason)) => line(
                        "reads",
                        &format!("not known: with no configuration it {reason}"),
                    ),
                }
                line("verdict", "loads in this host: ready for a policy");
            }
            Err(reason) => line("verdict", &format!("REFUSED: {reason}")),
        }
        out
    }

    /// Which version of the rule world the component targets, judged from
    /// its exports (a component keeps the names of the interfaces it
    /// exports, not the name of the world it was built from).
    fn world(&self) -> String {
        let prefix = format!("{RULE_INTERFACE}@");
        match self
            .interface
            .exports
            .iter()
            .find_map(|name| name.strip_prefix(&prefix))
        {
            Some(version) => format!(
                "covenant:rule/plugin@{version} (this host runs {}, wit/v3)",
                interface_majors()
            ),
            None => format!("none: it does not export {RULE_INTERFACE}"),
        }
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// A byte count in the largest binary unit that keeps it at least 1.
fn human_size(bytes: usize) -> String {
    let mut size = bytes as f64;
    for unit in ["B", "KiB", "MiB"] {
        if size < 1024.0 {
            return format!("{size:.1} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.1} GiB")
}

/// What a rule reads, in a line: `id, action, tenant of access events;
/// attributes subscription`.
fn describe_reads(reads: &RuleReads) -> String {
    let fields = match reads.fields.is_empty() {
        true => "time only".to_string(),
        false => format!("time, {}", reads.fields.join(", ")),
    };
    let actions = match reads.actions.is_empty() {
        true => "every event".to_string(),
        false => format!("{} events", reads.actions.join(", ")),
    };
    let attributes = match reads.attributes.is_empty() {
        true => "no attributes".to_string(),
        false => format!("attributes {}", reads.attributes.join(", ")),
    };
    format!("{fields} of {actions}; {attributes}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Severity;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_size(512), "512.0 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(40 << 20), "40.0 MiB");
    }

    #[test]
    fn a_builtin_plugin_inspects_clean() {
        let runtime = PluginRuntime::new().unwrap();
        let plugin = PluginRef::Builtin("retention".to_string());
        let inspection = inspect(&runtime, &plugin).unwrap();
        let rule = inspection.verdict.as_ref().unwrap();
        assert_eq!(rule.id, "retention");
        assert_eq!(rule.severity, Severity::Medium);
        assert!(
            inspection
                .interface
                .imports
                .iter()
                .all(|(_, support)| *support != ImportSupport::Refused)
        );
        let text = inspection.render();
        assert!(
            text.contains("world      covenant:rule/plugin@3.0.0"),
            "{text}"
        );
        assert!(
            text.contains("reads      time, id, action, data-id, data-category of every event; no attributes\n"),
            "{text}"
        );
        assert!(text.contains(&format!("sha256 = \"{}\"", inspection.sha256)));
        assert!(text.ends_with("verdict    loads in this host: ready for a policy\n"));
    }

    #[test]
    fn imports_outside_wasi_0_2_are_refused() {
        assert_eq!(
            crate::runtime::import_support("wasi:http/outgoing-handler@0.2.0"),
            ImportSupport::Refused
        );
        assert_eq!(
            crate::runtime::import_support("wasi:cli/environment@0.3.0"),
            ImportSupport::Refused
        );
        assert!(matches!(
            crate::runtime::import_support("wasi:clocks/wall-clock@0.2.6"),
            ImportSupport::Provided(_)
        ));
    }
}
