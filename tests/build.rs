//! Compiles the test-only plugins, which must never ship in the binary.

use covenant_plugin_build::{PluginCrate, embed_plugins};
use std::path::Path;

const TEST_PLUGINS: &[PluginCrate] = &[
    PluginCrate {
        package: "covenant-test-hostile",
        name: "hostile",
        dir: "tests/plugins/hostile",
    },
    PluginCrate {
        package: "covenant-test-wrong-version",
        name: "wrong-version",
        dir: "tests/plugins/wrong-version",
    },
];

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace");
    embed_plugins(workspace, TEST_PLUGINS);
    println!("cargo::rerun-if-changed=build.rs");
}
