//! Compiles Covenant rule crates to WebAssembly components from a build
//! script, so that `cargo build`, `cargo test` and `cargo run` need no extra
//! step.
//!
//! The pattern is the one wasmtime's test-programs artifacts crate uses: a
//! nested `cargo build --target wasm32-wasip2` with its own target directory,
//! so that it neither waits on the outer build's lock nor inherits its flags.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The target every Covenant plugin is built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The built-in rules, in the order the default policy runs them: the one
/// list of them. Each is the crate `covenant-rule-NAME` in `plugins/NAME`
/// ([`PluginCrate::builtin`]), whose rule type is NAME in CamelCase
/// (`ai-training-consent`: `AiTrainingConsent`). The workspace takes every
/// crate in `plugins/`; the host embeds these, its benchmark runs them
/// natively (its dev-dependencies are checked against this list), and the
/// default policy must run every one (a test holds it to this list).
pub const BUILTIN_RULES: &[&str] = &[
    "segregation",
    "ai-training-consent",
    "advertising-ban",
    "retention",
    "personnel-access",
    "collection-opt-out",
    "data-residency",
    "xdr-sharing",
    "resource-graph-inactivity",
    "service-retirement",
];

/// A rule crate to compile: its package name and the name the host knows it
/// by.
pub struct PluginCrate {
    /// Cargo package name, such as `covenant-rule-retention`.
    pub package: String,
    /// Name of the compiled plugin, such as `retention`.
    pub name: String,
    /// The crate's directory, relative to the workspace root.
    pub dir: String,
}

impl PluginCrate {
    /// The crate of the built-in rule `name` (one of [`BUILTIN_RULES`]).
    pub fn builtin(name: &str) -> PluginCrate {
        PluginCrate {
            package: format!("covenant-rule-{name}"),
            name: name.to_string(),
            dir: format!("plugins/{name}"),
        }
    }

    /// The crate's name as Rust code names it: `covenant_rule_retention`.
    pub fn crate_name(&self) -> String {
        self.package.replace('-', "_")
    }

    /// The rule's type in its crate: the name in CamelCase, by the
    /// built-in rules' convention (`ai-training-consent`: `AiTrainingConsent`).
    pub fn rule_type(&self) -> String {
        self.name
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or(String::new(), |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            })
            .collect()
    }
}

/// Compiles `plugins` (workspace members of the workspace at
/// `workspace_root`) and writes `plugins.rs` to `OUT_DIR`: a constant
/// `PLUGINS: &[(&str, &[u8])]` pairing each name with its embedded bytes.
///
/// Stops the build with a one-line `cargo::error` when the wasm target is
/// missing and cannot be installed, or when a plugin fails to compile.
pub fn embed_plugins(workspace_root: &Path, plugins: &[PluginCrate]) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let shared = [
        "plugins/sdk",
        "plugins/frame",
        "plugins/rfc3339",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ];
    for watched in (shared.iter().copied()).chain(plugins.iter().map(|p| p.dir.as_str())) {
        println!(
            "cargo::rerun-if-changed={}",
            workspace_root.join(watched).display()
        );
    }
    if let Err(message) = ensure_wasm_target() {
        println!("cargo::error={message}");
        std::process::exit(0);
    }
    let target_dir = out_dir.join("wasm-target");
    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(workspace_root)
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--target-dir",
        ])
        .arg(&target_dir);
    for plugin in plugins {
        cargo.args(["-p", &plugin.package]);
    }
    // The outer build's flags are for the host target and its tools; the
    // nested build must start clean.
    // Build paths would otherwise end up in panic messages inside the
    // components, making their bytes (and so the sha256 a policy pins)
    // depend on where the checkout and the cargo home are.
    let mut remap = format!("--remap-path-prefix={}=/covenant", workspace_root.display());
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    if let Some(home) = cargo_home {
        remap.push_str(&format!(
            "\x1f--remap-path-prefix={}=/cargo",
            home.display()
        ));
    }
    cargo.env("CARGO_ENCODED_RUSTFLAGS", remap);
    // One codegen unit and whole-program LTO let the frame's accessors and
    // the SDK fold into each rule's loop, where calls cost more in the
    // sandbox than natively: with the accessors' `#[inline]`, the four core
    // rules took 28% less time in the rules bench (BENCHMARKS.md). Plugins
    // are small, so it costs seconds of build time.
    cargo.env("CARGO_PROFILE_RELEASE_LTO", "fat");
    cargo.env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1");
    for var in [
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cargo.env_remove(var);
    }
    let output = match cargo.output() {
        Ok(output) => output,
        Err(e) => {
            println!("cargo::error=could not run cargo to build the plugins: {e}");
            std::process::exit(0);
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in stderr.lines() {
            println!("cargo::warning={line}");
        }
        println!(
            "cargo::error=building the rule plugins for {WASM_TARGET} failed; the nested cargo's output is above"
        );
        std::process::exit(0);
    }

    let mut table = String::from("/// Compiled plugins, by name, embedded at build time.\n");
    table.push_str("pub const PLUGINS: &[(&str, &[u8])] = &[\n");
    for plugin in plugins {
        let file = format!("{}.wasm", plugin.crate_name());
        let built = target_dir.join(WASM_TARGET).join("release").join(&file);
        let embedded = out_dir.join(format!("{}.wasm", plugin.name));
        if let Err(e) = std::fs::copy(&built, &embedded) {
            println!(
                "cargo::error=plugin {} was not produced at {}: {e}",
                plugin.package,
                built.display()
            );
            std::process::exit(0);
        }
        writeln!(
            table,
            "    ({:?}, include_bytes!({:?})),",
            plugin.name,
            embedded.display().to_string()
        )
        .expect("writing to a String");
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("plugins.rs"), table).expect("OUT_DIR is writable");
}

/// Makes sure the standard library for [`WASM_TARGET`] is installed,
/// installing it with rustup when it is not, because rustup here does not
/// install targets on its own.
fn ensure_wasm_target() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run rustc to find its sysroot: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let installed = || {
        sysroot
            .join("lib/rustlib")
            .join(WASM_TARGET)
            .join("lib")
            .exists()
    };
    if installed() {
        return Ok(());
    }
    // Several build scripts of one build may get here at once; rustup fails
    // if two install the same target together, so take turns.
    let lock_path = env::temp_dir().join(format!("covenant-rustup-{WASM_TARGET}.lock"));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if installed() {
        return Ok(());
    }
    let failed = |why: String| {
        format!(
            "the {WASM_TARGET} target is not installed and `rustup target add {WASM_TARGET}` {why}; run it yourself, then build again"
        )
    };
    // rustup must not see cargo's jobserver: inside a build script it waits
    // for tokens that never come and hangs once the download is done.
    let mut rustup = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failed(format!("could not start ({e})")))?;
    let deadline = Instant::now() + RUSTUP_TIMEOUT;
    loop {
        match rustup.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(failed(format!("failed ({status})"))),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => {
                let _ = rustup.kill();
                return Err(failed(format!(
                    "did not finish in {} s",
                    RUSTUP_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(failed(format!("could not be waited on ({e})"))),
        }
    }
}

/// How long installing the target may take before the build gives up.
const RUSTUP_TIMEOUT: Duration = Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builtin_rule_is_found_by_the_naming_convention() {
        let rule = PluginCrate::builtin("ai-training-consent");
        assert_eq!(rule.package, "covenant-rule-ai-training-consent");
        assert_eq!(rule.dir, "plugins/ai-training-consent");
        assert_eq!(rule.crate_name(), "covenant_rule_ai_training_consent");
        assert_eq!(rule.rule_type(), "AiTrainingConsent");
    }
}
