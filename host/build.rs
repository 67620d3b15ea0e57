//! Compiles the built-in rule plugins so the `covenant` binary can embed them.

use covenant_plugin_build::{PluginCrate, embed_plugins};
use std::path::Path;

/// The built-in rules, in the order the default policy lists them.
const BUILTIN_RULES: &[PluginCrate] = &[
    PluginCrate {
        package: "covenant-rule-segregation",
        name: "segregation",
        dir: "plugins/segregation",
    },
    PluginCrate {
        package: "covenant-rule-ai-training-consent",
        name: "ai-training-consent",
        dir: "plugins/ai-training-consent",
    },
    PluginCrate {
        package: "covenant-rule-advertising-ban",
        name: "advertising-ban",
        dir: "plugins/advertising-ban",
    },
    PluginCrate {
        package: "covenant-rule-retention",
        name: "retention",
        dir: "plugins/retention",
    },
    PluginCrate {
        package: "covenant-rule-personnel-access",
        name: "personnel-access",
        dir: "plugins/personnel-access",
    },
    PluginCrate {
        package: "covenant-rule-collection-opt-out",
        name: "collection-opt-out",
        dir: "plugins/collection-opt-out",
    },
    PluginCrate {
        package: "covenant-rule-data-residency",
        name: "data-residency",
        dir: "plugins/data-residency",
    },
    PluginCrate {
        package: "covenant-rule-xdr-sharing",
        name: "xdr-sharing",
        dir: "plugins/xdr-sharing",
    },
    PluginCrate {
        package: "covenant-rule-resource-graph-inactivity",
        name: "resource-graph-inactivity",
        dir: "plugins/resource-graph-inactivity",
    },
    PluginCrate {
        package: "covenant-rule-service-retirement",
        name: "service-retirement",
        dir: "plugins/service-retirement",
    },
];

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits in the workspace");
    embed_plugins(workspace, BUILTIN_RULES);
    println!("cargo::rerun-if-changed=build.rs");
    // `plugin new` embeds the templates with include_dir!, which cannot
    // tell cargo what it read on stable Rust.
    println!("cargo::rerun-if-changed=../plugins/templates");
}
