//! The built-in rule plugins, compiled from `plugins/` by the build script
//! and embedded so that the binary runs anywhere with no other files.

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// The embedded component named `name` (`builtin:NAME` in a policy).
pub fn plugin(name: &str) -> Option<&'static [u8]> {
    PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The names of every embedded plugin, for error messages.
pub fn names() -> Vec<&'static str> {
    PLUGINS.iter().map(|(name, _)| *name).collect()
}
