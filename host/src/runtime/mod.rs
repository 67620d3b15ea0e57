//! The plugin runtime: loading rule plugins and calling them in the
//! sandbox, within limits.
//!
//! A plugin is a component implementing the `covenant:rule@3.0.0` world
//! (`wit/v3`), whose batches cross as frames ([`frames`]). Each rule runs
//! in its own [`Store`] with:
//! - no filesystem, network, environment variables or arguments: the WASI
//!   imports that a language's standard library pulls in are satisfied by an
//!   empty context ([`sandbox`]);
//! - a clock frozen at 1970-01-01 and a fixed random seed, so a plugin can
//!   neither observe the host nor behave differently from run to run;
//! - a memory cap and a fuel budget per call, so a runaway plugin stops
//!   with a one-line reason instead of taking the host down ([`trap`]).
//!
//! This is the only module that sees the types generated from the WIT
//! ([`bindings`], private): the rest of the host speaks [`EventBatch`],
//! [`Finding`] and [`RuleMetadata`]. It may import [`crate::events`] and
//! [`crate::policy`]; compiled plugins are kept in the [`cache`].

mod batch;
mod bindings;
pub mod cache;
mod frames;
mod ordinals;
mod sandbox;
mod trap;

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store};

use crate::events;
use crate::policy::{Limits, Severity};
pub use batch::{BatchBuilder, EventBatch, RunPosition};
use bindings::{Plugin, PluginPre};
use cache::{ComponentCache, EntryStatus};
use frames::Frames;
pub use sandbox::import_support;
use sandbox::{Sandbox, refuse_waiting};
use trap::{explain, one_line};

/// What a plugin says about its rule (`describe` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMetadata {
    /// The rule's stable id.
    pub id: String,
    /// The plugin's version.
    pub version: String,
    /// One sentence saying what the rule checks.
    pub description: String,
    /// The commitment it checks, quoted.
    pub commitment: String,
    /// The severity of its findings unless a policy overrides it.
    pub severity: Severity,
}

/// One breach a rule reported: the event that shows it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The id of the event the finding is about.
    pub event_id: String,
    /// The rule's explanation, with the ids and times an auditor needs.
    pub message: String,
}

/// A subject whose compliance the log cannot show either way: neither a
/// pass nor a finding, reported as a verdict of its own (and so, as it is,
/// in the report).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Unassessable {
    /// What could not be judged, as the rule keys it (a subscription, a
    /// tenant, a data item).
    pub subject: String,
    /// Why, in plain words: what the log would need to hold.
    pub reason: String,
}

/// What a rule reported from one call: findings, and (from `finish`) what
/// it could not assess.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conclusion {
    /// Breaches, each about an event the rule was sent.
    pub findings: Vec<Finding>,
    /// Subjects the log cannot show either way.
    pub unassessable: Vec<Unassessable>,
}

impl From<Vec<Finding>> for Conclusion {
    fn from(findings: Vec<Finding>) -> Conclusion {
        Conclusion {
            findings,
            unassessable: Vec::new(),
        }
    }
}

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
    /// Exported names, e.g. `covenant:rule/rule@3.0.0`.
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
    /// `bytes` must be a component exporting `covenant:rule/rule@3.x`. This
    /// is the whole load-time validation: `covenant plugin inspect` and
    /// every policy run go through it before any event is read.
    pub fn load(&self, bytes: &[u8], limits: Limits) -> Result<RulePlugin> {
        let component = self.compile(bytes)?;
        let major = check_interface_version(&component, &self.engine)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("needs imports the sandbox does not provide: {e}"))?;
        let not_implemented =
            |e: wasmtime::Error| anyhow!("does not implement {RULE_INTERFACE}@{major}.0.0: {e}");
        let pre = PluginPre::new(instance_pre).map_err(not_implemented)?;
        let mut store = new_store(&self.engine, limits)?;
        let plugin = instantiate(&mut store, |store| pre.instantiate(store))?;
        let metadata = (plugin.covenant_rule_rule().call_describe(&mut store))
            .map_err(|e| explain("describe", &e, &store))?;
        Ok(RulePlugin {
            pre,
            limits,
            metadata: bindings::metadata(metadata),
        })
    }
}

/// The interface this host runs, as components name their export of it.
pub const RULE_INTERFACE: &str = "covenant:rule/rule";

/// The interface of the records the rule interface uses, which a plugin
/// imports alongside exporting [`RULE_INTERFACE`].
const RULE_TYPES: &str = "covenant:rule/types";

/// The major versions of the interface this host runs; minor versions only
/// add what older plugins cannot observe.
pub const INTERFACE_MAJORS: [u64; 1] = [3];

/// The versions this host runs, in words: `3.x`.
pub fn interface_majors() -> String {
    let majors: Vec<String> = INTERFACE_MAJORS.iter().map(|m| format!("{m}.x")).collect();
    majors.join(" and ")
}

/// Refuses a component built for a major version of the interface this
/// host does not run, or for none, with a message naming what it was built
/// for; returns the major version.
fn check_interface_version(component: &Component, engine: &Engine) -> Result<u64> {
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
        bail!(
            "does not implement {RULE_INTERFACE} of any version this host runs ({}): it exports {found}",
            interface_majors()
        );
    };
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok());
    match major {
        Some(major) if INTERFACE_MAJORS.contains(&major) => Ok(major),
        _ => bail!(
            "was built for {RULE_INTERFACE}@{version}, but this host runs {RULE_INTERFACE}@{} plugins; rebuild it against wit/v3 (with the SDK, in Rust)",
            interface_majors()
        ),
    }
}

/// A compiled plugin, ready to be instantiated for a run.
pub struct RulePlugin {
    pre: PluginPre<Sandbox>,
    limits: Limits,
    metadata: RuleMetadata,
}

impl RulePlugin {
    /// What the plugin says about itself.
    pub fn metadata(&self) -> &RuleMetadata {
        &self.metadata
    }

    /// Starts an evaluation with the rule's configuration (JSON text).
    pub fn start(&self, config: &str) -> Result<RuleInstance> {
        self.begin(|plugin, store| {
            let result =
                (plugin.covenant_rule_rule().evaluator()).call_constructor(&mut *store, config);
            (result.map_err(|e| explain("constructor", &e, store))?)
                .map_err(|message| anyhow!("rejected its configuration: {}", one_line(&message)))
        })
    }

    /// Carries on an evaluation an earlier run saved as `state`, under the
    /// configuration it was saved with: the rule's findings may cite the
    /// events `cited` (ordinal and id, in ordinal order) that its
    /// snapshot cited, and the run's ordinals must start after the saved
    /// run's.
    pub fn restore(
        &self,
        config: &str,
        state: &[u8],
        cited: &[(u64, &str)],
    ) -> Result<RuleInstance> {
        let mut instance = self.begin(|plugin, store| {
            // Decoding a state costs in proportion to its size, which the
            // rule's memory already bounds: one call's budget would refuse
            // the states of long logs.
            let per_byte = FUEL_PER_STATE_BYTE.saturating_mul(state.len() as u64);
            store.set_fuel(self.limits.fuel_per_call.saturating_add(per_byte))?;
            let result =
                (plugin.covenant_rule_rule().evaluator()).call_restore(&mut *store, config, state);
            (result.map_err(|e| explain("restore", &e, store))?)
                .map_err(|message| anyhow!("refused its saved state: {}", one_line(&message)))
        })?;
        instance.frames.carry(cited)?;
        Ok(instance)
    }

    /// Instantiates the plugin, makes its evaluator with `make`, and asks
    /// what it reads.
    fn begin(
        &self,
        make: impl FnOnce(&Plugin, &mut Store<Sandbox>) -> Result<ResourceAny>,
    ) -> Result<RuleInstance> {
        let mut store = new_store(self.pre.engine(), self.limits)?;
        let plugin = instantiate(&mut store, |store| self.pre.instantiate(store))?;
        let evaluator = make(&plugin, &mut store)?;
        let rule = plugin.covenant_rule_rule();
        store.set_fuel(self.limits.fuel_per_call)?;
        let projection = (rule.evaluator().call_projection(&mut store, evaluator))
            .map_err(|e| explain("projection", &e, &store))?;
        let frames = Frames::new(projection)?;
        Ok(RuleInstance {
            store,
            plugin,
            evaluator,
            frames,
            limits: self.limits,
        })
    }
}

/// The fuel a restore gets for each byte of the state it decodes, beyond
/// `fuel_per_call`.
pub const FUEL_PER_STATE_BYTE: u64 = 1_000;

/// A store for one instance, with the limits applied.
fn new_store(engine: &Engine, limits: Limits) -> Result<Store<Sandbox>> {
    let mut store = Store::new(engine, Sandbox::new(limits));
    store.limiter(|sandbox| &mut sandbox.memory);
    // What a call returns (a snapshot, above all) is built in the plugin's
    // memory, which `memory_mib` bounds; wasmtime's own default bound on
    // what one call may copy out (128 MiB) would refuse a state that fits.
    let memory_bytes =
        usize::try_from(limits.memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    store.set_hostcall_fuel(memory_bytes);
    store.set_fuel(limits.fuel_per_call)?;
    Ok(store)
}

/// Instantiates a plugin into `store` with `instantiate`, and gives the
/// first call a full CPU budget.
fn instantiate<T>(
    store: &mut Store<Sandbox>,
    instantiate: impl FnOnce(&mut Store<Sandbox>) -> wasmtime::Result<T>,
) -> Result<T> {
    let bindings = instantiate(store).map_err(|e| explain("instantiation", &e, store))?;
    // Instantiation may have spent some; the next call gets a whole budget.
    store.set_fuel(store.data().limits.fuel_per_call)?;
    Ok(bindings)
}

/// A rule's state at the end of a run ([`RuleInstance::snapshot`]), for
/// [`RulePlugin::restore`] in a later one. Its size is bounded by the
/// rule's `memory_mib`: the plugin builds it in its own memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSnapshot {
    /// The plugin's own encoding of its state, handed back unread.
    pub state: Vec<u8>,
    /// The events the state names, by ordinal, with their ids, in ordinal
    /// order: a later run's findings may cite them.
    pub cited: Vec<(u64, String)>,
}

/// What a rule declared it reads: the host sends it nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleReads {
    /// The event fields, by their names in `wit/v3/rule.wit`; time and
    /// ordinal are always sent.
    pub fields: Vec<String>,
    /// The actions whose events it is sent; empty is every action.
    pub actions: Vec<String>,
    /// The attributes it is sent, when they are JSON strings.
    pub attributes: Vec<String>,
}

/// One running evaluation of a rule inside its sandbox.
pub struct RuleInstance {
    store: Store<Sandbox>,
    plugin: Plugin,
    evaluator: ResourceAny,
    frames: Frames,
    limits: Limits,
}

impl RuleInstance {
    /// The limits this rule runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What the rule declared it reads.
    pub fn reads(&self) -> RuleReads {
        self.frames.reads()
    }

    /// Sends the next batch of events (already in time order).
    pub fn observe(&mut self, batch: &EventBatch) -> Result<Vec<Finding>> {
        self.store.set_fuel(self.limits.fuel_per_call)?;
        let frame = self.frames.frame(batch)?;
        let result = (self.plugin.covenant_rule_rule().evaluator()).call_observe(
            &mut self.store,
            self.evaluator,
            frame,
        );
        let findings = settle("observe", result, &self.store)?;
        self.frames.findings(findings, self.limits.max_findings)
    }

    /// The rule's state after the last batch, for a later run to
    /// [`restore`](RulePlugin::restore); taken before [`finish`](Self::finish),
    /// so that it holds what the events built, not what the end concluded.
    pub fn snapshot(&mut self) -> Result<RuleSnapshot> {
        self.store.set_fuel(self.limits.fuel_per_call)?;
        let result = (self.plugin.covenant_rule_rule().evaluator())
            .call_snapshot(&mut self.store, self.evaluator);
        let snapshot = settle("snapshot", result, &self.store)?;
        Ok(RuleSnapshot {
            cited: self.frames.cited(&snapshot.cites)?,
            state: snapshot.state,
        })
    }

    /// Ends the evaluation, for the findings that depend on what never
    /// happened by `as_of`, and what the log could not show.
    pub fn finish(&mut self, as_of: events::Timestamp) -> Result<Conclusion> {
        self.store.set_fuel(self.limits.fuel_per_call)?;
        let result = (self.plugin.covenant_rule_rule().evaluator()).call_finish(
            &mut self.store,
            self.evaluator,
            bindings::timestamp(as_of),
        );
        let conclusion = settle("finish", result, &self.store)?;
        let findings = (self.frames).findings(conclusion.findings, self.limits.max_findings)?;
        let unassessable = (conclusion.unassessable.into_iter())
            .map(|u| Unassessable {
                subject: u.subject,
                reason: u.reason,
            })
            .collect();
        Ok(Conclusion {
            findings,
            unassessable,
        })
    }
}

/// Why a rule that reported more than `limit` findings failed.
pub fn too_many_findings(limit: u64) -> String {
    format!("reported more than {limit} findings (limit max_findings)")
}

/// What a call returned, or why it failed, in one line.
fn settle<T>(
    call: &str,
    result: wasmtime::Result<Result<T, String>>,
    store: &Store<Sandbox>,
) -> Result<T> {
    match result {
        Ok(Ok(returned)) => Ok(returned),
        Ok(Err(message)) => bail!("{call} returned an error: {}", one_line(&message)),
        Err(e) => Err(explain(call, &e, store)),
    }
}
