//! Compiles the test-only plugins, which must never ship in the binary.

use covenant_plugin_build::{PluginCrate, embed_plugins};
use std::path::Path;

/// The test plugins: in `tests/plugins/NAME`, package `covenant-test-NAME`.
const TEST_PLUGINS: &[&str] = &["hostile", "wrong-version", "frame-rule"];

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace");
    let plugins: Vec<PluginCrate> = TEST_PLUGINS
        .iter()
        .map(|name| PluginCrate {
            package: format!("covenant-test-{name}"),
            name: name.to_string(),
            dir: format!("tests/plugins/{name}"),
        })
        .collect();
    embed_plugins(workspace, &plugins);
    println!("cargo::rerun-if-changed=build.rs");
}
