//! Sharding: checking a log too large for one machine as many tenant
//! shards. [`split`] cuts a log by tenant and writes the lineage every shard
//! shares; [`merge`] combines the shards' JSON reports into the report of
//! one run. [`convert`] writes a log in any format as the schema v1 events
//! a shard file holds, for sharding engines other than `split` (the Spark
//! job in `integrations/spark/`).
//!
//! It sits beside the command line, above the pipeline: it may import any
//! stage, and no stage imports it.

pub mod convert;
pub mod merge;
pub mod split;
mod wire;
