//! Covenant checks recorded data-handling events against published
//! commitments, running each rule as a sandboxed WebAssembly component.
//!
//! Data flows one way, one module per stage:
//! [`events`] (read and order) → [`sandbox`] (run plugins within limits,
//! compiled once into the [`component_cache`]) → [`evaluate`] (drive every
//! rule over the events, on one thread per core) → [`report`] (build and
//! render, after [`waivers`] and, on request, [`redact`]). [`policy`] says
//! which rules run; [`audit`] wires one run together; [`cli`] is the
//! command line, with [`progress`] for the terminal, [`diff`] to compare
//! two reports, [`split`] to shard a log by tenant and [`merge`] to combine
//! the shards' reports, [`validate`] to check a log with no rule, and
//! [`generate`] to write synthetic logs. For plugin authors, [`scaffold`]
//! writes a new plugin project, [`inspect`] checks a plugin against this
//! host, and [`cases`] runs fixture cases through the same audit.

pub mod atomic_file;
pub mod audit;
pub mod builtin;
pub mod cases;
pub mod cli;
pub mod component_cache;
pub mod diff;
pub mod evaluate;
pub mod events;
pub mod generate;
pub mod inspect;
pub mod merge;
pub mod policy;
pub mod progress;
pub mod redact;
pub mod report;
pub mod sandbox;
pub mod scaffold;
pub mod split;
pub mod validate;
pub mod waivers;
