//! Covenant checks recorded data-handling events against published
//! commitments, running each rule as a sandboxed WebAssembly component.
//!
//! Data flows one way, and the folders are the stages, in order:
//! - [`events`]: the schema, reading logs, time order;
//! - [`policy`]: which rules run, with their waivers and redaction;
//! - [`runtime`]: loading plugins and calling them in the sandbox, the only
//!   place the interface's generated types exist;
//! - [`evaluate`]: driving every rule over the events, and the [`evaluate::audit`]
//!   that wires one run;
//! - [`report`]: the report model, built from what the rules found, and its
//!   renderers.
//!
//! A stage imports only the stages before it. Above them sit the tools that
//! use the whole pipeline: [`shard`] (split a log by tenant, merge the
//! shards' reports), [`kit`] (the plugin author's tools) and [`cli`], the
//! command line.

#![warn(missing_docs)]

pub mod cli;
pub mod evaluate;
pub mod events;
pub mod kit;
pub mod policy;
pub mod report;
pub mod runtime;
pub mod shard;
