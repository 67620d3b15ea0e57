//! A plugin built for the previous major version of the interface
//! (`wit/v2`, `covenant:rule@2.0.0`, which the host ran until the Python
//! and JavaScript rules moved to v3): the host must refuse it by name
//! rather than fail obscurely.

wit_bindgen::generate!({
    path: "wit/v2",
    world: "plugin",
});

use covenant::rule::types::{Event, Finding, Metadata, Severity, Timestamp};
use exports::covenant::rule::rule::{Guest, GuestEvaluator};

struct Plugin;

struct Evaluator;

impl Guest for Plugin {
    type Evaluator = Evaluator;

    fn describe() -> Metadata {
        Metadata {
            id: "from-the-past".to_string(),
            version: "2.0.0".to_string(),
            description: String::new(),
            commitment: String::new(),
            severity: Severity::Low,
        }
    }
}

impl GuestEvaluator for Evaluator {
    fn new(_config: String) -> Result<Self, String> {
        Ok(Evaluator)
    }

    fn observe(&self, _batch: Vec<Event>) -> Result<Vec<Finding>, String> {
        Ok(Vec::new())
    }

    fn finish(&self, _as_of: Timestamp) -> Result<Vec<Finding>, String> {
        Ok(Vec::new())
    }
}

#[cfg(target_family = "wasm")]
export!(Plugin);
