//! What the benches share: the log they measure, and the allocator of the
//! `covenant` binary, so that their numbers are the binary's.

use std::io::Write;
use std::path::{Path, PathBuf};

use covenant::events::generate::{LogSpec, generate};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Events in the benches' log: enough for steady state, small enough for
/// criterion's repeated samples.
pub const EVENTS: u64 = 100_000;

/// Writes the benches' log into `dir`: [`EVENTS`] generated events for
/// 1,000 tenants, seed 1, violation rate 0.001, as `throughput.sh` uses.
pub fn generated_log(dir: &Path) -> PathBuf {
    let path = dir.join("generated.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let spec = LogSpec {
        events: EVENTS,
        tenants: 1_000,
        seed: 1,
        violation_rate: 0.001,
    };
    generate(&spec, &mut file).unwrap();
    file.flush().unwrap();
    path
}
