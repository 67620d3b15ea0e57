//! Covenant checks recorded data-handling events against published
//! commitments, running each rule as a sandboxed WebAssembly component.
//!
//! Data flows one way, one module per stage:
//! [`events`] (read and order) → [`sandbox`] (run plugins within limits) →
//! [`evaluate`] (drive every rule over the events) → [`report`] (build and
//! render). [`policy`] says which rules run; [`audit`] wires one run
//! together; [`cli`] is the command line.

pub mod audit;
pub mod builtin;
pub mod cli;
pub mod evaluate;
pub mod events;
pub mod policy;
pub mod report;
pub mod sandbox;
