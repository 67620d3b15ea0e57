//! What the tests that run the command line share.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `covenant` binary under test with `args`, in `dir`, with a
/// compiled-plugin cache of its own under `dir`, so that no test reads or
/// fills the user's.
pub fn covenant(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_covenant"))
        .current_dir(dir)
        .args(args)
        .env("COVENANT_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("the covenant binary runs")
}

/// What a run wrote to standard error, for assertions and their messages.
pub fn stderr(run: &Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}
