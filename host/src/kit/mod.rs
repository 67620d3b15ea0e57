//! The plugin author's tools: [`scaffold`] writes a new plugin project
//! (`plugin new`), [`inspect`] checks a plugin against this host without
//! giving it an event, and [`cases`] runs fixture cases through the same
//! audit a report runs (`plugin test`).
//!
//! It sits beside the command line, above the pipeline: it may import any
//! stage, and no stage imports it.

pub mod cases;
pub mod inspect;
pub mod scaffold;
