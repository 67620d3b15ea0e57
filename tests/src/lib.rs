//! Shared helpers for Covenant's end-to-end tests.

use std::path::{Path, PathBuf};

use covenant::evaluate::audit::Audit;
use covenant::policy::Policy;
use covenant::report::Report;

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// A test plugin's component bytes, by name.
pub fn test_plugin(name: &str) -> &'static [u8] {
    PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a test plugin built by build.rs")
        .1
}

/// The hostile test plugin's component bytes.
pub fn hostile_plugin() -> &'static [u8] {
    test_plugin("hostile")
}

/// A fixture's path relative to this package, as reports will show it.
/// Tests run with the package directory as their working directory, so
/// relative paths keep snapshots free of machine-specific prefixes.
pub fn fixture(name: &str) -> PathBuf {
    Path::new("fixtures").join(name)
}

/// Runs the `covenant` command line in-process with `args` (without the
/// program name) and returns its exit code.
pub fn run_cli(args: &[&str]) -> u8 {
    let mut full = vec!["covenant"];
    full.extend_from_slice(args);
    covenant::cli::run_from(full)
}

/// A path as a command-line argument; test paths are always UTF-8.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 test path")
}

/// Runs the default policy over `inputs`.
pub fn report(inputs: &[PathBuf]) -> anyhow::Result<Report> {
    Audit::new(Policy::builtin()?, inputs.to_vec()).run()
}

/// A policy that runs the default rules plus the hostile plugin configured
/// with `attack`, written into `dir` beside a copy of the plugin.
pub fn policy_with_hostile(dir: &Path, attack: &str, limits: &str) -> anyhow::Result<PathBuf> {
    std::fs::write(dir.join("hostile.wasm"), hostile_plugin())?;
    let mut text = covenant::policy::DEFAULT_POLICY.to_string();
    text.push_str(&format!(
        "\n[[rule]]\nid = \"hostile\"\nplugin = \"hostile.wasm\"\ncommitment = \"test\"\n\
         [rule.config]\nattack = \"{attack}\"\n{limits}\n"
    ));
    let path = dir.join("policy.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}
