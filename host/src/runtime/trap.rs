//! Explaining a failed plugin call in one line: which limit it hit, or
//! what it trapped on and what it wrote on stderr first.

use anyhow::anyhow;
use wasmtime::{Store, Trap};

use super::sandbox::Sandbox;

/// Turns a failed call into one line naming the call and the limit or trap.
pub(super) fn explain(
    call: &str,
    error: &wasmtime::Error,
    store: &Store<Sandbox>,
) -> anyhow::Error {
    let sandbox = store.data();
    let reason = match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => format!(
            "exceeded its CPU limit of {} fuel per call",
            sandbox.limits.fuel_per_call
        ),
        _ if sandbox.memory.hit => format!(
            "exceeded its memory limit of {} MiB",
            sandbox.limits.memory_mib
        ),
        Some(trap) => {
            // A Rust panic writes "thread ... panicked at FILE:LINE:COL:",
            // the message, then a note about RUST_BACKTRACE: keep the first
            // two, which say where and why.
            let stderr = String::from_utf8_lossy(&sandbox.stderr.contents()).into_owned();
            let said: Vec<&str> = stderr
                .lines()
                .filter(|l| {
                    !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE")
                })
                .collect();
            if said.is_empty() {
                format!("trapped ({trap})")
            } else {
                format!(
                    "trapped ({trap}) after writing: {}",
                    one_line(&said.join(" "))
                )
            }
        }
        // A host function refused the call; its own message is the root
        // cause, beneath the wasm backtrace wasmtime wraps it in.
        None => one_line(&error.root_cause().to_string()),
    };
    anyhow!("{call}: {reason}")
}

/// Collapses whitespace so a reason fits on one report line, and caps it.
pub(super) fn one_line(text: &str) -> String {
    const MAX: usize = 500;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
