//! What a plugin's store holds: the empty WASI context, the memory cap and
//! the frozen clocks; and the table of what each WASI import gives a
//! plugin, for `plugin inspect`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime::ResourceLimiter;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use anyhow::{Context, Result};

use super::{INTERFACE_MAJORS, ImportSupport, RULE_TYPES};
use crate::policy::Limits;

/// How much of a plugin's stderr is kept to explain a trap (a panic message).
const STDERR_CAPACITY: usize = 4096;

/// Everything a plugin's store holds: the empty WASI context and the limits.
pub(super) struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) memory: MemoryCap,
    pub(super) limits: Limits,
}

impl Sandbox {
    pub(super) fn new(limits: Limits) -> Sandbox {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(StdRng::seed_from_u64(0))
            .insecure_random(StdRng::seed_from_u64(0))
            .insecure_random_seed(0)
            .build();
        Sandbox {
            wasi,
            table: ResourceTable::new(),
            stderr,
            memory: MemoryCap {
                max_bytes: usize::try_from(limits.memory_mib.saturating_mul(1 << 20))
                    .unwrap_or(usize::MAX),
                hit: false,
            },
            limits,
        }
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers whether the cap was hit, so that the
/// trap that follows can be blamed on the limit rather than reported as an
/// unexplained `unreachable`.
pub(super) struct MemoryCap {
    max_bytes: usize,
    pub(super) hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_bytes;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a rule needs few.
        Ok(desired <= 100_000)
    }
}

/// A clock stopped at the Unix epoch: plugins must not see the host's time,
/// and a report must not depend on when it was run.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// The WASI version whose clock interface [`refuse_waiting`] replaces: the
/// one `wasmtime-wasi` provides, which newer guests' imports resolve to.
const WASI_MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces the monotonic clock's timers with functions that trap.
///
/// A timer is the one thing in the empty WASI context a plugin could wait
/// on, and WASI's timers wait in real time on the host, where fuel does not
/// run out: `std::thread::sleep` would hang the run. With the clock frozen
/// there is nothing legitimate to wait for.
pub(super) fn refuse_waiting(linker: &mut Linker<Sandbox>) -> Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker
        .instance(WASI_MONOTONIC_CLOCK)
        .map_err(anyhow::Error::from)?;
    for timer in ["subscribe-duration", "subscribe-instant"] {
        clock
            .func_wrap(
                timer,
                move |_, (_,): (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
                    Err(wasmtime::Error::msg(format!(
                        "called {timer}: the sandbox has no clock to wait on"
                    )))
                },
            )
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot replace {WASI_MONOTONIC_CLOCK}#{timer}"))?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// What the sandbox does for an import named `name`.
///
/// This mirrors what [`PluginRuntime::new`] links: WASI 0.2 (any patch
/// version) with an empty context, and nothing else. It only explains; the
/// linker itself decides whether a plugin loads.
pub fn import_support(name: &str) -> ImportSupport {
    let Some((interface, version)) = name.split_once('@') else {
        return ImportSupport::Refused;
    };
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok());
    if interface == RULE_TYPES && major.is_some_and(|m| INTERFACE_MAJORS.contains(&m)) {
        // The world's own type definitions: nothing to call.
        return ImportSupport::Provided("the interface's records: types only");
    }
    if !version.starts_with("0.2.") {
        return ImportSupport::Refused;
    }
    let given = match interface {
        "wasi:cli/environment" => "empty: no variables, no arguments",
        "wasi:cli/exit" => "exiting traps the call",
        "wasi:cli/stdin" => "empty input",
        "wasi:cli/stdout" => "discarded",
        "wasi:cli/stderr" => "kept (4 KiB) to explain a trap",
        "wasi:cli/terminal-input"
        | "wasi:cli/terminal-output"
        | "wasi:cli/terminal-stdin"
        | "wasi:cli/terminal-stdout"
        | "wasi:cli/terminal-stderr" => "no terminal",
        "wasi:clocks/wall-clock" => "frozen at 1970-01-01T00:00:00Z",
        "wasi:clocks/monotonic-clock" => "frozen; waiting on a timer traps",
        "wasi:filesystem/types" | "wasi:filesystem/preopens" => "no directories",
        "wasi:random/random" | "wasi:random/insecure" | "wasi:random/insecure-seed" => {
            "seeded with 0: the same bytes every run"
        }
        "wasi:io/error" | "wasi:io/poll" | "wasi:io/streams" => "streams over the above",
        "wasi:sockets/network"
        | "wasi:sockets/instance-network"
        | "wasi:sockets/tcp"
        | "wasi:sockets/tcp-create-socket"
        | "wasi:sockets/udp"
        | "wasi:sockets/udp-create-socket"
        | "wasi:sockets/ip-name-lookup" => "every address denied",
        _ => return ImportSupport::Refused,
    };
    ImportSupport::Provided(given)
}
