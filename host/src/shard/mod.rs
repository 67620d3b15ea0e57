//! Sharding: checking a log too large for one machine as many tenant
//! shards. [`split`] cuts a log by tenant and writes the lineage every shard
//! shares; [`merge`] combines the shards' JSON reports into the report of
//! one run.
//!
//! It sits beside the command line, above the pipeline: it may import any
//! stage, and no stage imports it.

pub mod merge;
pub mod split;
