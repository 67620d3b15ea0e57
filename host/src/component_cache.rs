//! Compiled plugins kept on disk between runs.
//!
//! Compiling a plugin with Cranelift takes a quarter of a second for a
//! small Rust rule and many seconds for a Python or JavaScript one; the
//! default policy's ten rules took about three seconds before any event was
//! read. The cache keeps each compiled component under the SHA-256 of the
//! plugin's bytes, in a folder named for the engine's configuration and
//! Covenant's version, so a later run loads it in milliseconds and a
//! changed plugin or host never finds a stale entry.
//!
//! The folder is `$COVENANT_CACHE_DIR`, else `$XDG_CACHE_HOME/covenant`,
//! else `$HOME/.cache/covenant`. `COVENANT_CACHE_DIR=off` turns the cache
//! off. Deleting the folder at any time is safe.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept, if anywhere.
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

impl ComponentCache {
    /// The cache the environment names (see the module documentation).
    pub fn from_env(engine: &Engine) -> ComponentCache {
        let base = match std::env::var_os("COVENANT_CACHE_DIR") {
            Some(dir) if dir == "off" => None,
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => std::env::var_os("XDG_CACHE_HOME")
                .filter(|dir| !dir.is_empty())
                .map(|dir| PathBuf::from(dir).join("covenant"))
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/covenant"))
                }),
        };
        ComponentCache {
            dir: base.map(|base| base.join(engine_key(engine))),
        }
    }

    /// The component compiled from `bytes`, whose SHA-256 is `digest`: read
    /// from the cache, or compiled and then stored. A cache that cannot be
    /// read or written is passed over, never an error: it only saves time.
    pub fn component(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> Result<Component> {
        let Some(dir) = &self.dir else {
            return compile(engine, bytes);
        };
        let path = dir.join(format!("{digest}.cwasm"));
        // SAFETY: `deserialize_file` runs native code from the file, so the
        // file must be one `precompile_component` wrote. Only this host
        // writes into the cache, in the user's own cache folder, made
        // private to them below; whoever could replace a file there could
        // already run code as the user. Wasmtime refuses a file from
        // another version or configuration, and the folder name keeps
        // those apart anyway.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok(component);
        }
        let compiled = engine
            .precompile_component(bytes)
            .map_err(|e| anyhow!("not a valid wasm component: {e}"))?;
        if make_private_dir(dir).is_ok() {
            // Another run may store the same entry at the same time; each
            // write is whole, so either copy will do.
            let _ = crate::atomic_file::write_atomically(&path, &compiled);
        }
        // SAFETY: the bytes were produced by `precompile_component` on this
        // engine just above.
        unsafe { Component::deserialize(engine, &compiled) }
            .map_err(|e| anyhow!("cannot load the compiled component: {e}"))
    }
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    Component::new(engine, bytes).map_err(|e| anyhow!("not a valid wasm component: {e}"))
}

/// A folder name for what makes compiled code valid: wasmtime's own
/// compatibility hash of the engine's configuration, and this version.
fn engine_key(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    format!("compiled-{:016x}", hasher.finish())
}

fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_load_reads_what_the_first_stored() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache {
            dir: Some(dir.path().join(engine_key(&engine))),
        };
        let bytes = wat_component();
        cache.component(&engine, "abc", &bytes).unwrap();
        let stored = dir.path().join(engine_key(&engine)).join("abc.cwasm");
        assert!(stored.is_file());
        // A corrupt entry is compiled again and replaced, not an error.
        std::fs::write(&stored, b"not compiled code").unwrap();
        cache.component(&engine, "abc", &bytes).unwrap();
        assert_ne!(std::fs::read(&stored).unwrap(), b"not compiled code");
    }

    #[test]
    fn invalid_bytes_are_an_error_and_nothing_is_stored() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache {
            dir: Some(dir.path().to_path_buf()),
        };
        let error = cache.component(&engine, "bad", b"\0asm junk").unwrap_err();
        assert!(error.to_string().starts_with("not a valid wasm component"));
        assert!(!dir.path().join("bad.cwasm").exists());
    }

    /// The smallest valid component: an empty one.
    fn wat_component() -> Vec<u8> {
        // (component) in the binary format: magic, version 0x0d, layer 1.
        b"\0asm\x0d\0\x01\0".to_vec()
    }
}
