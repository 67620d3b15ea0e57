//! Compiled plugins kept on disk between runs, loaded only when this user's
//! Covenant provably wrote them from the exact plugin bytes being run.
//!
//! Compiling a plugin with Cranelift takes a quarter of a second for a
//! small Rust rule and many seconds for a Python or JavaScript one; the
//! default policy's ten rules took about three seconds before any event was
//! read. A cached entry loads in milliseconds.
//!
//! An entry is native code that runs outside the sandbox, and cache folders
//! travel between trust domains (CI caches restored across branches, shared
//! volumes, container layers), so nothing in the folder is believed:
//! - every entry is sealed with HMAC-SHA256, under a key private to the
//!   user and kept outside the cache folder, over the plugin's SHA-256, the
//!   engine's identity (wasmtime's compatibility hash of its configuration,
//!   and Covenant's version) and the compiled bytes; an entry whose seal
//!   does not verify is recompiled and rewritten, never loaded;
//! - a folder or entry that another user owns or can write is not used, and
//!   the run says so in one line on stderr.
//!
//! The folder is `$COVENANT_CACHE_DIR`, else `$XDG_CACHE_HOME/covenant`,
//! else `$HOME/.cache/covenant`; `COVENANT_CACHE_DIR=off` turns the cache
//! off. The key is `$COVENANT_CACHE_KEY` (hex, for CI secrets), else the file
//! `$XDG_CONFIG_HOME/covenant/cache.key`, else
//! `$HOME/.config/covenant/cache.key`, created 0600 on first use. Deleting
//! the folder or the key at any time is safe: entries are compiled again.

use std::fmt;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The first bytes of every entry, naming its layout: then the 32-byte seal,
/// then the compiled component.
const ENTRY_MAGIC: &[u8] = b"covenant-compiled/1\n";

/// The length of a seal, and of a generated key.
const SEAL_LEN: usize = 32;

/// Where compiled components are kept, and the key that vouches for them.
pub struct ComponentCache {
    store: Result<TrustedStore, String>,
    /// Set once a warning has been printed, so a run prints at most one.
    warned: AtomicBool,
}

/// A cache folder that passed the ownership checks, with the user's key.
struct TrustedStore {
    dir: PathBuf,
    key: Vec<u8>,
    engine: EngineId,
}

/// What makes compiled code valid: wasmtime's compatibility hash of the
/// engine's configuration, and Covenant's version, digested.
#[derive(Clone, Copy, PartialEq, Eq)]
struct EngineId([u8; 32]);

/// Whether a plugin's cache entry would be loaded, for `plugin inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryStatus {
    /// The cache is not in use; the reason says why.
    Off(String),
    /// No entry yet: the plugin is compiled and its entry written.
    Missing,
    /// The entry's seal verifies: it is loaded instead of compiling.
    Trusted,
    /// The entry fails a check: it is recompiled and rewritten, never loaded.
    Untrusted(String),
}

impl fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryStatus::Off(why) => write!(f, "not used: {why}"),
            EntryStatus::Missing => f.write_str("no entry yet: compiled on first use"),
            EntryStatus::Trusted => f.write_str("trusted entry: sealed by this user's key"),
            EntryStatus::Untrusted(why) => {
                write!(f, "UNTRUSTED entry ({why}): recompiled, never loaded")
            }
        }
    }
}

impl ComponentCache {
    /// The cache the environment names (see the module documentation). A
    /// cache that cannot be trusted is off, with one warning line on stderr.
    pub fn from_env(engine: &Engine) -> ComponentCache {
        let base = match std::env::var_os("COVENANT_CACHE_DIR") {
            Some(dir) if dir == "off" => {
                return ComponentCache::off("COVENANT_CACHE_DIR=off");
            }
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => env_dir("XDG_CACHE_HOME", ".cache"),
        };
        let Some(base) = base else {
            return ComponentCache::off("no HOME or XDG_CACHE_HOME to keep it in");
        };
        let key = user_key("COVENANT_CACHE_KEY", "cache.key");
        let cache = ComponentCache::open(&base, key, engine);
        if let Err(why) = &cache.store {
            cache.warn(why);
        }
        cache
    }

    fn off(why: &str) -> ComponentCache {
        ComponentCache {
            store: Err(why.to_string()),
            warned: AtomicBool::new(false),
        }
    }

    /// The cache in `base` with `key`, if the folder passes the checks.
    fn open(base: &Path, key: Result<Vec<u8>, String>, engine: &Engine) -> ComponentCache {
        let engine = EngineId::of(engine);
        let dir = base.join(engine.folder_name());
        let store = key.and_then(|key| {
            for folder in [base, dir.as_path()] {
                if let Ok(meta) = std::fs::metadata(folder) {
                    check_private(folder, &meta, 0o022)?;
                }
            }
            Ok(TrustedStore { dir, key, engine })
        });
        ComponentCache {
            store,
            warned: AtomicBool::new(false),
        }
    }

    /// Prints `covenant: warning: ...` once per cache, so a run that meets
    /// the same problem for every plugin says it one time.
    fn warn(&self, why: &str) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!("covenant: warning: not using the compiled-plugin cache: {why}");
        }
    }

    /// Whether the entry for the plugin whose SHA-256 is `digest` would be
    /// loaded, without changing anything.
    pub fn status(&self, digest: &str) -> EntryStatus {
        match &self.store {
            Err(why) => EntryStatus::Off(why.clone()),
            Ok(store) => match store.read(digest) {
                Ok(_) => EntryStatus::Trusted,
                Err(Rejection::Missing) => EntryStatus::Missing,
                Err(Rejection::Untrusted(why)) => EntryStatus::Untrusted(why),
            },
        }
    }

    /// The component compiled from `bytes`, whose SHA-256 is `digest`: read
    /// from a trusted entry, or compiled and then stored. A cache that
    /// cannot be read or written is passed over, never an error: it only
    /// saves time.
    pub fn component(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> Result<Component> {
        let store = match &self.store {
            Ok(store) => store,
            Err(_) => {
                return Component::new(engine, bytes)
                    .map_err(|e| anyhow!("not a valid wasm component: {e}"));
            }
        };
        if let Ok(compiled) = store.read(digest) {
            // SAFETY: `deserialize` runs native code from these bytes, so
            // they must be what `precompile_component` wrote. They are:
            // their seal verified under this user's key, which only this
            // user's Covenant holds, over this plugin's digest and this
            // engine's identity, and they are the very bytes that were
            // verified (read into memory once, not re-read from disk).
            if let Ok(component) = unsafe { Component::deserialize(engine, &compiled) } {
                return Ok(component);
            }
        }
        let compiled = engine
            .precompile_component(bytes)
            .map_err(|e| anyhow!("not a valid wasm component: {e}"))?;
        if let Err(why) = store.write(digest, &compiled) {
            self.warn(&why);
        }
        // SAFETY: the bytes were produced by `precompile_component` on this
        // engine just above.
        unsafe { Component::deserialize(engine, &compiled) }
            .map_err(|e| anyhow!("cannot load the compiled component: {e}"))
    }
}

/// Why an entry is not loaded.
enum Rejection {
    Missing,
    Untrusted(String),
}

impl TrustedStore {
    fn entry_path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.cwasm"))
    }

    /// The compiled bytes of the entry for `digest`, if every check passes.
    fn read(&self, digest: &str) -> Result<Vec<u8>, Rejection> {
        let path = self.entry_path(digest);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Rejection::Missing),
            Err(e) => return Err(Rejection::Untrusted(format!("cannot be read: {e}"))),
        };
        // The open file's own metadata, so what is checked is what is read.
        let meta = file
            .metadata()
            .map_err(|e| Rejection::Untrusted(format!("cannot be read: {e}")))?;
        check_private(&path, &meta, 0o022).map_err(Rejection::Untrusted)?;
        let mut entry = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut entry)
            .map_err(|e| Rejection::Untrusted(format!("cannot be read: {e}")))?;
        let sealed = entry
            .strip_prefix(ENTRY_MAGIC)
            .filter(|rest| rest.len() > SEAL_LEN)
            .ok_or_else(|| Rejection::Untrusted("not a Covenant cache entry".to_string()))?;
        let (seal, compiled) = sealed.split_at(SEAL_LEN);
        self.mac(digest, compiled)
            .verify_slice(seal)
            .map_err(|_| Rejection::Untrusted("its seal does not verify".to_string()))?;
        Ok(compiled.to_vec())
    }

    /// Writes the sealed entry for `digest`, replacing any, whole or not at
    /// all. Another run may store the same entry at the same time; each
    /// write is whole, so either copy will do.
    fn write(&self, digest: &str, compiled: &[u8]) -> Result<(), String> {
        make_private_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let meta = std::fs::metadata(&self.dir).map_err(|e| e.to_string())?;
        check_private(&self.dir, &meta, 0o022)?;
        let seal = self.mac(digest, compiled).finalize().into_bytes();
        // Written beside its place and renamed in, so that a reader sees the
        // old entry or the new one, never part of one.
        let path = self.entry_path(digest);
        let write = || -> std::io::Result<()> {
            let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
            file.write_all(ENTRY_MAGIC)?;
            file.write_all(&seal)?;
            file.write_all(compiled)?;
            file.persist(&path)?;
            Ok(())
        };
        write().map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The MAC of an entry, fed everything it vouches for.
    fn mac(&self, digest: &str, compiled: &[u8]) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(ENTRY_MAGIC);
        mac.update(&self.engine.0);
        mac.update(digest.as_bytes());
        mac.update(&[0]);
        mac.update(compiled);
        mac
    }
}

impl EngineId {
    fn of(engine: &Engine) -> EngineId {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        EngineId(hasher.0.finalize().into())
    }

    /// The folder entries for this engine live in, so that hosts of other
    /// versions sharing a cache each keep their own entries.
    fn folder_name(&self) -> String {
        let hex: String = self.0[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("compiled-{hex}")
    }
}

/// Feeds a `Hash` value into SHA-256, so that the whole of wasmtime's
/// compatibility data is bound into the engine id, not a 64-bit summary.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("a SHA-256 has 8 bytes"))
    }
}

/// `$VAR/covenant`, else `$HOME/FALLBACK/covenant`.
fn env_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(fallback)))
        .map(|dir| dir.join("covenant"))
}

/// A secret of this user's: the hex in `$VAR`, for CI secrets, else the
/// file `NAME` in `$XDG_CONFIG_HOME/covenant` (or `$HOME/.config/covenant`),
/// made 0600 on first use. The compiled-plugin cache and saved states each
/// have their own, so that sharing one grants nothing about the other.
pub(crate) fn user_key(var: &str, name: &str) -> Result<Vec<u8>, String> {
    match std::env::var(var) {
        Ok(hex) => parse_key(&hex).map_err(|why| format!("{var} {why}")),
        Err(_) => match env_dir("XDG_CONFIG_HOME", ".config") {
            Some(config) => load_or_create_key(&config.join(name)),
            None => Err("no HOME or XDG_CONFIG_HOME to keep its key in".to_string()),
        },
    }
}

/// A key given as hex: at least 32 bytes, so it is as strong as the seal.
fn parse_key(hex: &str) -> Result<Vec<u8>, String> {
    let hex = hex.trim();
    if hex.len() < 2 * SEAL_LEN || !hex.len().is_multiple_of(2) {
        return Err(format!(
            "must be at least {} hex digits, an even number of them",
            2 * SEAL_LEN
        ));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| "is not hex".to_string())
}

/// The key in `path`, made on first use: 32 random bytes as hex, in a file
/// only the user can read. A key file others can read or write is refused,
/// since whoever knows the key can make entries this user's runs will load.
fn load_or_create_key(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    match File::open(path) {
        Ok(mut file) => {
            let meta = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
            check_private(path, &meta, 0o077)?;
            let mut hex = String::new();
            file.read_to_string(&mut hex)
                .map_err(|e| format!("{shown}: {e}"))?;
            parse_key(&hex).map_err(|why| format!("the key in {shown} {why}"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = path.parent().expect("the key file is in a folder");
            make_private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut key = [0u8; SEAL_LEN];
            getrandom::fill(&mut key).map_err(|e| format!("no random key: {e}"))?;
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            // Created 0600 beside its place, then linked in only if no
            // other run made a key first; if one did, that key is the one.
            let mut file =
                tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{shown}: {e}"))?;
            writeln!(file, "{hex}").map_err(|e| format!("{shown}: {e}"))?;
            match file.persist_noclobber(path) {
                Ok(_) => Ok(key.to_vec()),
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_key(path)
                }
                Err(e) => Err(format!("{shown}: {}", e.error)),
            }
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

/// Refuses what another user owns, or what the mode bits in `forbidden`
/// open to others (0o022: writing; 0o077: any access).
#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata, forbidden: u32) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "{} is owned by user {}, not by this user ({me})",
            path.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & forbidden != 0 {
        return Err(format!(
            "{} has mode {mode:04o}: others can {}",
            path.display(),
            if mode & forbidden & 0o022 != 0 {
                "write it"
            } else {
                "read it"
            }
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &std::fs::Metadata, _: u32) -> Result<(), String> {
    Ok(())
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

    const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn cache_in(base: &Path, key: &str) -> ComponentCache {
        ComponentCache::open(base, parse_key(key), &Engine::default())
    }

    fn entry(base: &Path, digest: &str) -> PathBuf {
        let engine = EngineId::of(&Engine::default());
        base.join(engine.folder_name())
            .join(format!("{digest}.cwasm"))
    }

    #[test]
    fn a_second_load_reads_what_the_first_stored() {
        let engine = Engine::default();
        let base = tempfile::tempdir().unwrap();
        let cache = cache_in(base.path(), KEY);
        assert_eq!(cache.status("abc"), EntryStatus::Missing);
        cache.component(&engine, "abc", &empty_component()).unwrap();
        assert!(entry(base.path(), "abc").is_file());
        assert_eq!(cache.status("abc"), EntryStatus::Trusted);
    }

    #[test]
    fn a_truncated_entry_is_recompiled_and_rewritten() {
        let engine = Engine::default();
        let base = tempfile::tempdir().unwrap();
        let cache = cache_in(base.path(), KEY);
        cache.component(&engine, "abc", &empty_component()).unwrap();
        let path = entry(base.path(), "abc");
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        assert!(matches!(cache.status("abc"), EntryStatus::Untrusted(_)));
        cache.component(&engine, "abc", &empty_component()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn an_entry_sealed_for_another_plugin_another_key_or_another_engine_is_untrusted() {
        let engine = Engine::default();
        let base = tempfile::tempdir().unwrap();
        let cache = cache_in(base.path(), KEY);
        cache.component(&engine, "abc", &empty_component()).unwrap();
        let sealed = std::fs::read(entry(base.path(), "abc")).unwrap();

        // Another plugin's entry in this plugin's place.
        std::fs::write(entry(base.path(), "def"), &sealed).unwrap();
        assert!(matches!(cache.status("def"), EntryStatus::Untrusted(w) if w.contains("seal")));

        // The same entry, read with another user's or machine's key.
        let other_key = KEY.replace('0', "f");
        let other = cache_in(base.path(), &other_key);
        assert!(matches!(other.status("abc"), EntryStatus::Untrusted(w) if w.contains("seal")));

        // Sealed by this key, but for another engine (another wasmtime).
        let Ok(store) = &cache.store else {
            panic!("cache on")
        };
        let foreign = TrustedStore {
            dir: store.dir.clone(),
            key: store.key.clone(),
            engine: EngineId([7; 32]),
        };
        foreign.write("ghi", b"compiled elsewhere").unwrap();
        assert!(matches!(cache.status("ghi"), EntryStatus::Untrusted(w) if w.contains("seal")));
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_write_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let engine = Engine::default();
        let base = tempfile::tempdir().unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let cache = cache_in(base.path(), KEY);
        assert!(matches!(cache.status("abc"), EntryStatus::Off(w) if w.contains("0777")));
        cache.component(&engine, "abc", &empty_component()).unwrap();
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn an_entry_others_can_write_is_untrusted() {
        use std::os::unix::fs::PermissionsExt;
        let engine = Engine::default();
        let base = tempfile::tempdir().unwrap();
        let cache = cache_in(base.path(), KEY);
        cache.component(&engine, "abc", &empty_component()).unwrap();
        let path = entry(base.path(), "abc");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(cache.status("abc"), EntryStatus::Untrusted(w) if w.contains("0666")));
        cache.component(&engine, "abc", &empty_component()).unwrap();
        assert_eq!(cache.status("abc"), EntryStatus::Trusted);
    }

    #[cfg(unix)]
    #[test]
    fn an_entry_another_user_owns_is_untrusted() {
        // Only root can give a file away; elsewhere the check is the same
        // comparison, covered by the mode tests.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let engine = Engine::default();
        let base = tempfile::tempdir().unwrap();
        let cache = cache_in(base.path(), KEY);
        cache.component(&engine, "abc", &empty_component()).unwrap();
        let path = entry(base.path(), "abc");
        std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
        assert!(matches!(cache.status("abc"), EntryStatus::Untrusted(w) if w.contains("4242")));
    }

    #[test]
    fn a_key_is_made_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("covenant/cache.key");
        let first = load_or_create_key(&path).unwrap();
        assert_eq!(first.len(), SEAL_LEN);
        assert_eq!(load_or_create_key(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(load_or_create_key(&path).unwrap_err().contains("read it"));
        }
    }

    #[test]
    fn a_short_or_malformed_key_is_refused() {
        assert!(parse_key("abcd").is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
        assert_eq!(parse_key(KEY).unwrap().len(), 32);
    }

    #[test]
    fn invalid_bytes_are_an_error_and_nothing_is_stored() {
        let engine = Engine::default();
        let base = tempfile::tempdir().unwrap();
        let cache = cache_in(base.path(), KEY);
        let error = cache.component(&engine, "bad", b"\0asm junk").unwrap_err();
        assert!(error.to_string().starts_with("not a valid wasm component"));
        assert_eq!(cache.status("bad"), EntryStatus::Missing);
    }

    /// The smallest valid component: an empty one.
    fn empty_component() -> Vec<u8> {
        // (component) in the binary format: magic, version 0x0d, layer 1.
        b"\0asm\x0d\0\x01\0".to_vec()
    }
}
