//! The wasm runtime and sandbox: loading rule plugins and calling them
//! within limits.
//!
//! A plugin is a component implementing the `covenant:rule@2.0.0` world
//! (`wit/v2`). Each rule runs in its own [`Store`] with:
//! - no filesystem, network, environment variables or arguments: the WASI
//!   imports that a language's standard library pulls in are satisfied by an
//!   empty context;
//! - a clock frozen at 1970-01-01 and a fixed random seed, so a plugin can
//!   neither observe the host nor behave differently from run to run;
//! - a memory cap and a fuel budget per call, so a runaway plugin stops
//!   with a one-line reason instead of taking the host down.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow, bail};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime::component::{Component, Linker, Resource, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

pub mod cache;

use crate::events;
use crate::policy::Limits;
use cache::{ComponentCache, EntryStatus};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/v2",
        world: "plugin",
    });
}

use bindings::Plugin;
use bindings::covenant::rule::types::{self as wit};
pub use bindings::covenant::rule::types::{Finding, Metadata, Severity};

/// How much of a plugin's stderr is kept to explain a trap (a panic message).
const STDERR_CAPACITY: usize = 4096;

/// The compiler and linker shared by every plugin in a run.
pub struct PluginRuntime {
    engine: Engine,
    linker: Linker<Sandbox>,
    /// Compiled components by the SHA-256 of their bytes: `plugin test`
    /// runs one plugin over many cases, and compiling a large component
    /// (a Python interpreter is tens of MiB) dominates a short case.
    compiled: Mutex<HashMap<String, Component>>,
    /// Compiled components kept on disk between runs.
    cache: ComponentCache,
}

/// What a component declares it imports and exports, read without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInterface {
    /// Exported names, e.g. `covenant:rule/rule@2.0.0`.
    pub exports: Vec<String>,
    /// Imported names with what the sandbox does about each.
    pub imports: Vec<(String, ImportSupport)>,
}

/// What the sandbox gives a plugin for one import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportSupport {
    /// Linked; the text says what the plugin actually gets through it.
    Provided(&'static str),
    /// Not linked: a plugin importing it cannot load.
    Refused,
}

impl PluginRuntime {
    /// Sets up Cranelift with fuel metering and a linker that offers
    /// plugins only the empty WASI context.
    pub fn new() -> Result<PluginRuntime> {
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("cannot start the wasm engine")?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(anyhow::Error::from)
            .context("cannot link WASI")?;
        refuse_waiting(&mut linker)?;
        Ok(PluginRuntime {
            cache: ComponentCache::from_env(&engine),
            engine,
            linker,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// Compiles a component, or returns the one compiled from the same
    /// bytes, by this runtime or (through the [`ComponentCache`]) an
    /// earlier run.
    fn compile(&self, bytes: &[u8]) -> Result<Component> {
        let digest = crate::policy::sha256_hex(bytes);
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(component) = compiled.get(&digest) {
            return Ok(component.clone());
        }
        let component = self.cache.component(&self.engine, &digest, bytes)?;
        compiled.insert(digest, component.clone());
        Ok(component)
    }

    /// Whether the on-disk cache holds a trusted compiled copy of `bytes`,
    /// as a run would judge it; changes nothing.
    pub fn cache_status(&self, bytes: &[u8]) -> EntryStatus {
        self.cache.status(&crate::policy::sha256_hex(bytes))
    }

    /// The names a component imports and exports, and what the sandbox does
    /// about each import. Fails only if `bytes` is not a component.
    pub fn interface(&self, bytes: &[u8]) -> Result<ComponentInterface> {
        let component = self.compile(bytes)?;
        let ty = component.component_type();
        let mut exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        exports.sort();
        let mut imports: Vec<(String, ImportSupport)> = ty
            .imports(&self.engine)
            .map(|(name, _)| (name.to_string(), import_support(name)))
            .collect();
        imports.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ComponentInterface { exports, imports })
    }

    /// Compiles a plugin, checks it fits this host, and reads its metadata.
    /// `bytes` must be a component exporting `covenant:rule/rule@2.x`. This
    /// is the whole load-time validation: `covenant plugin inspect` and
    /// every policy run go through it before any event is read.
    pub fn load(&self, bytes: &[u8], limits: Limits) -> Result<RulePlugin> {
        let component = self.compile(bytes)?;
        check_interface_version(&component, &self.engine)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("needs imports the sandbox does not provide: {e}"))?;
        let pre = bindings::PluginPre::new(instance_pre)
            .map_err(|e| anyhow!("does not implement covenant:rule/rule@2.0.0: {e}"))?;
        let (mut store, bindings) = instantiate(&pre, limits)?;
        let metadata = bindings
            .covenant_rule_rule()
            .call_describe(&mut store)
            .map_err(|e| explain("describe", &e, &store))?;
        Ok(RulePlugin {
            pre,
            limits,
            metadata,
        })
    }
}

/// The interface this host runs, as components name their export of it.
pub const RULE_INTERFACE: &str = "covenant:rule/rule";

/// The interface of the records the rule interface uses, which a plugin
/// imports alongside exporting [`RULE_INTERFACE`].
const RULE_TYPES: &str = "covenant:rule/types";

/// The major version of the interface this host runs; minor versions only
/// add what older plugins cannot observe.
pub const INTERFACE_MAJOR: u64 = 2;

/// Refuses a component built for another major version of the interface,
/// or for none, with a message naming what it was built for.
fn check_interface_version(component: &Component, engine: &Engine) -> Result<()> {
    let prefix = format!("{RULE_INTERFACE}@");
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let Some(version) = exports.iter().find_map(|name| name.strip_prefix(&prefix)) else {
        let found = if exports.is_empty() {
            "nothing".to_string()
        } else {
            exports.join(", ")
        };
        bail!("does not implement {RULE_INTERFACE}@{INTERFACE_MAJOR}.x: it exports {found}");
    };
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok());
    if major != Some(INTERFACE_MAJOR) {
        bail!(
            "was built for {RULE_INTERFACE}@{version}, but this host runs {RULE_INTERFACE}@{INTERFACE_MAJOR}.x plugins; rebuild it against wit/v{INTERFACE_MAJOR}"
        );
    }
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
    if interface == RULE_TYPES
        && version.split('.').next() == Some(INTERFACE_MAJOR.to_string().as_str())
    {
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

/// The host's severity for the one a plugin declares.
pub fn severity(declared: Severity) -> crate::policy::Severity {
    use crate::policy::Severity as Host;
    match declared {
        Severity::Info => Host::Info,
        Severity::Low => Host::Low,
        Severity::Medium => Host::Medium,
        Severity::High => Host::High,
        Severity::Critical => Host::Critical,
    }
}

/// A compiled plugin, ready to be instantiated for a run.
pub struct RulePlugin {
    pre: bindings::PluginPre<Sandbox>,
    limits: Limits,
    metadata: Metadata,
}

impl RulePlugin {
    /// What the plugin says about itself.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Starts an evaluation with the rule's configuration (JSON text).
    pub fn start(&self, config: &str) -> Result<RuleInstance> {
        let (mut store, bindings) = instantiate(&self.pre, self.limits)?;
        let evaluator = bindings
            .covenant_rule_rule()
            .evaluator()
            .call_constructor(&mut store, config)
            .map_err(|e| explain("constructor", &e, &store))?
            .map_err(|message| anyhow!("rejected its configuration: {}", one_line(&message)))?;
        Ok(RuleInstance {
            store,
            bindings,
            evaluator,
            limits: self.limits,
        })
    }
}

/// A fresh instance in its own store, with the limits applied and a full
/// CPU budget for the first call.
fn instantiate(
    pre: &bindings::PluginPre<Sandbox>,
    limits: Limits,
) -> Result<(Store<Sandbox>, Plugin)> {
    let mut store = Store::new(pre.engine(), Sandbox::new(limits));
    store.limiter(|sandbox| &mut sandbox.memory);
    store.set_fuel(limits.fuel_per_call)?;
    let bindings = pre
        .instantiate(&mut store)
        .map_err(|e| explain("instantiation", &e, &store))?;
    // Instantiation may have spent some; the next call gets a whole budget.
    store.set_fuel(limits.fuel_per_call)?;
    Ok((store, bindings))
}

/// One running evaluation of a rule inside its sandbox.
pub struct RuleInstance {
    store: Store<Sandbox>,
    bindings: Plugin,
    evaluator: ResourceAny,
    limits: Limits,
}

impl RuleInstance {
    /// The limits this rule runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sends the next batch of events (already in time order).
    pub fn observe(&mut self, batch: &[WitEvent]) -> Result<Vec<Finding>> {
        self.store.set_fuel(self.limits.fuel_per_call)?;
        let result = self.bindings.covenant_rule_rule().evaluator().call_observe(
            &mut self.store,
            self.evaluator,
            batch,
        );
        self.settle("observe", result)
    }

    /// Ends the evaluation, for the findings that depend on what never
    /// happened by `as_of`.
    pub fn finish(&mut self, as_of: events::Timestamp) -> Result<Vec<Finding>> {
        self.store.set_fuel(self.limits.fuel_per_call)?;
        let as_of = wit::Timestamp {
            seconds: as_of.seconds,
            nanos: as_of.nanos,
        };
        let result = self.bindings.covenant_rule_rule().evaluator().call_finish(
            &mut self.store,
            self.evaluator,
            as_of,
        );
        self.settle("finish", result)
    }

    fn settle(
        &self,
        call: &str,
        result: wasmtime::Result<Result<Vec<Finding>, String>>,
    ) -> Result<Vec<Finding>> {
        match result {
            Ok(Ok(findings)) => Ok(findings),
            Ok(Err(message)) => bail!("{call} returned an error: {}", one_line(&message)),
            Err(e) => Err(explain(call, &e, &self.store)),
        }
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
fn refuse_waiting(linker: &mut Linker<Sandbox>) -> Result<()> {
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

/// An event as the interface's record, the form a batch crosses into the
/// sandboxes in.
pub type WitEvent = wit::Event;

/// Converts an event to the interface's record, moving its strings rather
/// than copying them: the host keeps nothing of an event once it is batched.
pub fn into_wit(event: events::Event) -> WitEvent {
    wit::Event {
        id: event.id,
        time: wit::Timestamp {
            seconds: event.time.seconds,
            nanos: event.time.nanos,
        },
        action: event.action,
        tenant: event.tenant,
        actor: event.actor.map(|a| wit::Actor {
            kind: a.kind,
            id: a.id,
        }),
        purpose: event.purpose,
        scope: event.scope,
        layer: event.layer,
        region: event.region,
        data: event.data.map(|d| wit::DataItem {
            id: d.id,
            category: d.category,
            tenant: d.tenant,
            store: d.store,
            sources: d.sources,
            extra: attributes(d.extra),
        }),
        extra: attributes(event.extra),
    }
}

fn attributes(extra: std::collections::BTreeMap<String, serde_json::Value>) -> Vec<wit::Attribute> {
    extra
        .into_iter()
        .map(|(name, value)| wit::Attribute {
            json: value.to_string(),
            name,
        })
        .collect()
}

/// Turns a failed call into one line naming the call and the limit or trap.
fn explain(call: &str, error: &wasmtime::Error, store: &Store<Sandbox>) -> anyhow::Error {
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
fn one_line(text: &str) -> String {
    const MAX: usize = 500;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Everything a plugin's store holds: the empty WASI context and the limits.
struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    memory: MemoryCap,
    limits: Limits,
}

impl Sandbox {
    fn new(limits: Limits) -> Sandbox {
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
struct MemoryCap {
    max_bytes: usize,
    hit: bool,
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
