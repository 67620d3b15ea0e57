//! Compiles the built-in rule plugins so the `covenant` binary can embed
//! them, and lists them for the native benchmark, from the one list,
//! `covenant_plugin_build::BUILTIN_RULES`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use covenant_plugin_build::{BUILTIN_RULES, PluginCrate, embed_plugins};

fn main() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("host/ sits in the workspace");
    let rules: Vec<PluginCrate> = BUILTIN_RULES
        .iter()
        .map(|n| PluginCrate::builtin(n))
        .collect();
    if let Err(message) = check_dev_dependencies(&manifest_dir.join("Cargo.toml"), &rules) {
        println!("cargo::error={message}");
        std::process::exit(0);
    }
    embed_plugins(workspace, &rules);
    write_native_rules(&rules);
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=Cargo.toml");
    // `plugin new` embeds the templates with include_dir!, which cannot
    // tell cargo what it read on stable Rust.
    println!("cargo::rerun-if-changed=../plugins/templates");
}

/// Cargo cannot take dependencies from a list, so the `rules` bench's
/// dev-dependencies on the rule crates are checked against it instead:
/// exactly one per built-in rule.
fn check_dev_dependencies(manifest: &Path, rules: &[PluginCrate]) -> Result<(), String> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    for rule in rules {
        let line = format!("{} = {{ path = \"../{}\" }}", rule.package, rule.dir);
        if !text.lines().any(|l| l.trim() == line) {
            return Err(format!(
                "host/Cargo.toml: add `{line}` to [dev-dependencies]: every built-in rule (BUILTIN_RULES) is benchmarked natively"
            ));
        }
    }
    let listed = text
        .lines()
        .filter(|l| l.trim_start().starts_with("covenant-rule-"))
        .count();
    if listed != rules.len() {
        return Err(format!(
            "host/Cargo.toml lists {listed} rule crates but BUILTIN_RULES has {}; keep one dev-dependency per built-in rule",
            rules.len()
        ));
    }
    Ok(())
}

/// Writes `native_rules.rs` for the `rules` bench: each built-in rule by
/// name with its crate's native entry points.
fn write_native_rules(rules: &[PluginCrate]) {
    let mut code = String::from(
        "/// Every built-in rule by its plugin name, in the default policy's order,\n\
         /// with its crate's native entry points (from `BUILTIN_RULES`).\n",
    );
    writeln!(code, "static RULES: [(&str, Native); {}] = [", rules.len()).expect("a String");
    for rule in rules {
        writeln!(
            code,
            "    ({name:?}, Native {{ encode: testing::encode::<{rule}>, run: testing::evaluate_encoded::<{rule}> }}),",
            name = rule.name,
            rule = format_args!("{}::{}", rule.crate_name(), rule.rule_type()),
        )
        .expect("a String");
    }
    code.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    std::fs::write(out_dir.join("native_rules.rs"), code).expect("OUT_DIR is writable");
}
