//! The Python and JavaScript reference decoders (`wit/v3/decoders/`) agree
//! with the test vectors, as this crate's decoder does. Each runs its own
//! test script; off CI a missing `python3` or `node` leaves that language
//! out with a note, and on CI (`CI` set), which installs both, it fails.

use std::path::PathBuf;
use std::process::Command;

fn decoders() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../wit/v3/decoders")
}

/// Runs `program script` in the decoders' folder; `false` if the program
/// is missing off CI.
fn passes(program: &str, script: &str) -> bool {
    let output = match Command::new(program)
        .arg(script)
        .current_dir(decoders())
        .output()
    {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("note: {program} is not available ({e}); its decoder is not tested here");
            return false;
        }
        Err(e) => panic!("{program} is needed on CI for {script}: {e}"),
    };
    assert!(
        output.status.success(),
        "{program} {script} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    true
}

#[test]
fn the_python_decoder_agrees_with_the_vectors() {
    passes("python3", "test_frame.py");
}

#[test]
fn the_javascript_decoder_agrees_with_the_vectors() {
    passes("node", "test_frame.mjs");
}
