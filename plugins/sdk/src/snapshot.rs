//! A rule's state saved at the end of one run and restored at the start of
//! the next (`snapshot` and `restore` in the WIT), so that one audit can
//! span many logs.
//!
//! The rule itself is the state: it derives `Serialize` and `Deserialize`,
//! and the SDK encodes it with postcard. What the encoding must also say is
//! which events the state still names (a [`Recorded`](crate::Recorded)'s
//! event, an item's first store), because a later run's findings may cite
//! them and the host keeps their ids only if told: every [`EventRef`]
//! serialised while a snapshot is taken is noted here.
//!
//! [`EventRef`]: crate::EventRef

use std::cell::RefCell;

use serde::Serialize;
use serde::de::DeserializeOwned;

thread_local! {
    /// The ordinals cited by the snapshot being taken, if one is.
    static CITES: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) };
}

/// Notes that the state being saved names event `ordinal`.
pub(crate) fn cite(ordinal: u64) {
    CITES.with(|cites| {
        if let Some(cites) = cites.borrow_mut().as_mut() {
            cites.push(ordinal);
        }
    });
}

/// `rule`'s state, and the ordinals it names, in order and once each.
pub(crate) fn save<R: Serialize>(rule: &R) -> Result<(Vec<u8>, Vec<u64>), String> {
    CITES.with(|cites| *cites.borrow_mut() = Some(Vec::new()));
    let state = postcard::to_allocvec(rule);
    let mut cites = CITES
        .with(|cites| cites.borrow_mut().take())
        .unwrap_or_default();
    let state = state.map_err(|e| format!("cannot save the rule's state: {e}"))?;
    cites.sort_unstable();
    cites.dedup();
    Ok((state, cites))
}

/// The rule `save` saved as `state`.
pub(crate) fn load<R: DeserializeOwned>(state: &[u8]) -> Result<R, String> {
    postcard::from_bytes(state)
        .map_err(|e| format!("the saved state does not fit this build of the rule: {e}"))
}
