//! The compiled-plugin cache holds native code that runs outside the
//! sandbox, so a cache folder is hostile input: each test tampers with one
//! the way an attacker or an accident would, and checks that the report is
//! exactly the one a run without the cache gives.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KEY: &str = "5f1d3c0b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504";
const OTHER_KEY: &str = "a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f";

/// Runs `covenant report --format json` on the shipped example with the
/// cache in `cache` (or `off`) under `key`.
fn report(cache: &str, key: &str) -> Output {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .current_dir(workspace)
        .args(["report", "--format", "json", "examples/defender-demo.jsonl"])
        .env("COVENANT_CACHE_DIR", cache)
        .env("COVENANT_CACHE_KEY", key)
        .output()
        .expect("the covenant binary runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "the example has findings: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn uncached() -> Vec<u8> {
    report("off", KEY).stdout
}

/// The cache's entries, in name order, after a run has filled it.
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = walk(cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn warm(cache: &Path) -> Vec<PathBuf> {
    let first = report(cache.to_str().unwrap(), KEY);
    assert!(
        first.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let found = entries(cache);
    assert_eq!(found.len(), 10, "one entry per built-in rule: {found:?}");
    found
}

/// What `plugin inspect` says of retention's cache entry.
fn inspect_cache_line(cache: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(["plugin", "inspect", "builtin:retention"])
        .env("COVENANT_CACHE_DIR", cache)
        .env("COVENANT_CACHE_KEY", KEY)
        .output()
        .expect("the covenant binary runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout.lines().find(|l| l.starts_with("cache"));
    line.expect("inspect has a cache line").to_string()
}

#[test]
fn entries_swapped_between_plugins_are_recompiled_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let found = warm(&cache);
    assert!(inspect_cache_line(&cache).contains("trusted entry"));
    // Each plugin's entry moves into the next plugin's place, as a poisoned
    // CI cache might hand them over.
    let contents: Vec<Vec<u8>> = found.iter().map(|p| std::fs::read(p).unwrap()).collect();
    for (n, path) in found.iter().enumerate() {
        std::fs::write(path, &contents[(n + 1) % contents.len()]).unwrap();
    }
    assert!(inspect_cache_line(&cache).contains("UNTRUSTED entry (its seal does not verify)"));
    // Inspecting compiled and resealed retention's entry; put the swapped
    // one back, so the report meets every entry swapped.
    for (n, path) in found.iter().enumerate() {
        std::fs::write(path, &contents[(n + 1) % contents.len()]).unwrap();
    }
    assert_eq!(report(cache.to_str().unwrap(), KEY).stdout, uncached());
    for (n, path) in found.iter().enumerate() {
        assert_eq!(
            std::fs::read(path).unwrap(),
            contents[n],
            "rewritten: {path:?}"
        );
    }
}

#[test]
fn entries_from_another_users_or_machines_cache_are_recompiled_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let found = warm(&cache);
    let before: Vec<Vec<u8>> = found.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(
        report(cache.to_str().unwrap(), OTHER_KEY).stdout,
        uncached()
    );
    for (path, old) in found.iter().zip(&before) {
        assert_ne!(&std::fs::read(path).unwrap(), old, "resealed: {path:?}");
    }
}

#[test]
fn a_truncated_entry_is_recompiled_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let found = warm(&cache);
    let whole = std::fs::read(&found[0]).unwrap();
    std::fs::write(&found[0], &whole[..whole.len() / 2]).unwrap();
    assert_eq!(report(cache.to_str().unwrap(), KEY).stdout, uncached());
    assert_eq!(std::fs::read(&found[0]).unwrap(), whole);
}

#[cfg(unix)]
#[test]
fn a_folder_others_can_write_is_ignored_with_one_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = report(cache.to_str().unwrap(), KEY);
    assert_eq!(run.stdout, uncached());
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("covenant: warning: not using the compiled-plugin cache:")
            && stderr.contains("mode 0777"),
        "{stderr}"
    );
    assert!(entries(&cache).is_empty(), "nothing written to it");
}

/// An entry sealed with the user's own key, but for another engine (as an
/// older Covenant on another wasmtime would have sealed it), holding
/// another plugin's code, placed where this build looks: it is not run.
#[test]
fn an_entry_sealed_for_another_engine_is_recompiled_not_run() {
    use hmac::{KeyInit, Mac};
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let found = warm(&cache);
    let key: Vec<u8> = (0..KEY.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY[i..i + 2], 16).unwrap())
        .collect();
    // The entry layout (runtime/cache.rs): magic, the seal, the code.
    const MAGIC: &[u8] = b"covenant-compiled/1\n";
    let other_code = std::fs::read(&found[1]).unwrap()[MAGIC.len() + 32..].to_vec();
    let target = &found[0];
    let digest = target.file_stem().unwrap().to_str().unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(MAGIC);
    mac.update(&[0x42; 32]); // another engine's identity
    mac.update(digest.as_bytes());
    mac.update(&[0]);
    mac.update(&other_code);
    let mut forged = MAGIC.to_vec();
    forged.extend_from_slice(&mac.finalize().into_bytes());
    forged.extend_from_slice(&other_code);
    let before = std::fs::read(target).unwrap();
    std::fs::write(target, &forged).unwrap();
    assert_eq!(report(cache.to_str().unwrap(), KEY).stdout, uncached());
    assert_eq!(
        std::fs::read(target).unwrap(),
        before,
        "resealed for this engine"
    );
}
