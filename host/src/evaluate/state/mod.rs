//! Saved states: what one run of a chain hands the next, so that a log cut
//! by time into consecutive runs (a day's log a run, say) is checked as one
//! log. `covenant report --save-state FILE` writes one; `--resume FILE`
//! carries on from it.
//!
//! A state file is an untrusted input: it comes back from disk, perhaps
//! from another machine, and whoever could edit it could hide a breach
//! (drop a retention item, and its late deletion is never seen). So it is
//! sealed with HMAC-SHA256 under a secret of the user's
//! (`$COVENANT_STATE_KEY` as hex, for CI secrets, else the file
//! `state.key` beside the plugin cache's key, made 0600 on first use), and
//! the seal is checked before anything in it is read. The layout:
//!
//! ```text
//! "covenant-state/2"   16 bytes: the format and its version
//! header length        8 bytes, little-endian
//! header               JSON (`Header`): versions, digests, where the run stopped,
//!                      each rule's parts' lengths, the cited events' strings
//! cited events         the events the rules' states cite (`cited`)
//! each rule, in header order, unless it failed:
//!   cites              the ordinals its state cites, increasing: LEB128 deltas
//!   state              its state as its plugin encoded it
//! seal                 32 bytes: HMAC-SHA256 of everything before it
//! ```
//!
//! It holds data ids' keyed hashes, event ids, tenants and the places of
//! the events the rules still need: keep it as private as the logs.

mod cited;

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use cited::{CitedEvent, CitedEvents, CitedPlace, Citing};

use crate::events::{InputSummary, Timestamp};
use crate::policy::Policy;
use crate::report::ChainLink;
use crate::report::atomic_file::write_atomically;
use crate::runtime::RunPosition;
use cited::{Bytes, CitedStrings, put_varint};

/// The first bytes of every state file: the format and its version.
const MAGIC: &[u8; 16] = b"covenant-state/2";

/// The length of the seal at the end of the file.
const SEAL_LEN: usize = 32;

/// Room for the header and the cited events beyond the rules' states,
/// when bounding the size of a file to read (see [`SavedState::read`]).
const HEADER_ALLOWANCE: u64 = 256 << 20;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Everything a run needs to carry on where an earlier one stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedState {
    /// The Covenant version that saved it; only the same version resumes
    /// it, since the frame and the rules' encodings may change between
    /// versions.
    pub covenant_version: String,
    /// The sha256 of the policy it was saved under.
    pub policy_sha256: String,
    /// The chain link a run resuming this state follows: the saving run's
    /// own; for a checkpoint, the link the interrupted run followed (none
    /// for a chain's first run), since resuming a checkpoint finishes the
    /// interrupted run rather than starting another.
    pub chain: Option<ChainLink>,
    /// Where its events stopped: ordinals and data keys go on from here.
    pub position: RunPosition,
    /// The latest event the chain has read; a resumed run takes only
    /// events from this instant on.
    pub last_event: Option<Timestamp>,
    /// The instant the saving run's report was taken as of (for a
    /// checkpoint, the one before it in the chain): a later run is taken
    /// as of no earlier instant, so that what one report says is overdue
    /// the next does not call still in time.
    pub as_of: Option<Timestamp>,
    /// Each rule's state, in the policy's order.
    pub rules: Vec<SavedRule>,
    /// The events the rules' states cite, with the places of those earlier
    /// runs read: a later run's findings may be about them. A checkpoint
    /// leaves unplaced the events of the run it was taken of, since the
    /// run that resumes it reads those inputs again and places them.
    pub cited: CitedEvents,
    /// Set when the state was saved part-way through a run
    /// (`--checkpoint-every`), for that run to be finished.
    pub checkpoint: Option<Checkpoint>,
}

/// How far an interrupted run had got: a run resuming its checkpoint
/// reads the same inputs, skips the events the rules had observed, and
/// reports what the interrupted run would have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Events, in time order, the rules had observed.
    pub events: u64,
    /// The last of them, by id, to check the inputs are the same ones.
    pub last_id: String,
    /// The last of them: its time.
    pub last_time: Timestamp,
    /// Each rule's findings by then, in the policy's order: event id and
    /// message.
    pub findings: Vec<Vec<(String, String)>>,
}

/// One rule's saved state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRule {
    /// The rule's id in the policy.
    pub id: String,
    /// The sha256 of the plugin that made the state: it is handed back to
    /// that plugin only.
    pub plugin_sha256: String,
    /// The state, or why the rule had none to save (it failed, in this
    /// run or an earlier one).
    pub state: Result<RuleState, String>,
}

/// What a rule's plugin saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleState {
    /// The plugin's own encoding of its state, handed back unread.
    pub bytes: Vec<u8>,
    /// The ordinals of the events it cites, increasing; each is in
    /// [`SavedState::cited`].
    pub cites: Vec<u64>,
}

/// The part of the file before the cited events.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    covenant_version: String,
    policy_sha256: String,
    chain: Option<ChainLink>,
    checkpoint: Option<Checkpoint>,
    next_ordinal: u64,
    id_key: [u8; 16],
    last_event: Option<Timestamp>,
    as_of: Option<Timestamp>,
    rules: Vec<HeaderRule>,
    cited: CitedStrings,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderRule {
    id: String,
    plugin_sha256: String,
    /// The lengths of the rule's cites and state in the file; absent when
    /// `failed`.
    parts: Option<(u64, u64)>,
    failed: Option<String>,
}

impl SavedState {
    /// The file's bytes, sealed with `key`.
    pub fn to_bytes(&self, key: &[u8]) -> Vec<u8> {
        // Each rule's state with its cites encoded; none for a failed rule.
        let states: Vec<Option<(&RuleState, Vec<u8>)>> = (self.rules.iter())
            .map(|rule| (rule.state.as_ref().ok()).map(|state| (state, encode_cites(&state.cites))))
            .collect();
        let (strings, rows) = self.cited.parts();
        let header = Header {
            covenant_version: self.covenant_version.clone(),
            policy_sha256: self.policy_sha256.clone(),
            chain: self.chain.clone(),
            checkpoint: self.checkpoint.clone(),
            next_ordinal: self.position.next_ordinal,
            id_key: self.position.id_key,
            last_event: self.last_event,
            as_of: self.as_of,
            rules: (self.rules.iter().zip(&states))
                .map(|(rule, state)| HeaderRule {
                    id: rule.id.clone(),
                    plugin_sha256: rule.plugin_sha256.clone(),
                    parts: (state.as_ref())
                        .map(|(state, cites)| (cites.len() as u64, state.bytes.len() as u64)),
                    failed: rule.state.as_ref().err().cloned(),
                })
                .collect(),
            cited: strings.clone(),
        };
        let header = serde_json::to_vec(&header).expect("a header always serialises");
        let body: usize = (states.iter().flatten())
            .map(|(state, cites)| cites.len() + state.bytes.len())
            .sum();
        let mut bytes =
            Vec::with_capacity(MAGIC.len() + 8 + header.len() + rows.len() + body + SEAL_LEN);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(rows);
        for (state, cites) in states.iter().flatten() {
            bytes.extend_from_slice(cites);
            bytes.extend_from_slice(&state.bytes);
        }
        let seal = seal(key, &bytes);
        bytes.extend_from_slice(&seal);
        bytes
    }

    /// Reads back what [`to_bytes`](Self::to_bytes) wrote under `key`.
    /// Refuses, saying why, anything else: another format or version, a
    /// file cut short or changed, or one sealed under another key.
    pub fn from_bytes(bytes: &[u8], key: &[u8]) -> Result<SavedState> {
        if bytes.len() < MAGIC.len() || !bytes.starts_with(b"covenant-state/") {
            bail!("not a Covenant state file (it does not start with `covenant-state/`)");
        }
        if !bytes.starts_with(MAGIC) {
            let version = String::from_utf8_lossy(&bytes[b"covenant-state/".len()..MAGIC.len()]);
            bail!(
                "a state file of format version {version}, but this Covenant reads version 2; resume it with the Covenant that saved it"
            );
        }
        if bytes.len() < MAGIC.len() + 8 + SEAL_LEN {
            bail!("the state file is cut short ({} bytes)", bytes.len());
        }
        let (body, seal) = bytes.split_at(bytes.len() - SEAL_LEN);
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(body);
        if mac.verify_slice(seal).is_err() {
            bail!(
                "the state file's seal does not match: it was cut short or changed after it was saved, \
                 or it was saved under another key (COVENANT_STATE_KEY, or ~/.config/covenant/state.key \
                 of the user who saved it)"
            );
        }
        let mut rest = &body[MAGIC.len()..];
        let header_len = u64::from_le_bytes(
            take(&mut rest, 8, "the header's length")?
                .try_into()
                .unwrap(),
        );
        let header: Header = serde_json::from_slice(take(&mut rest, header_len, "the header")?)
            .context("the state file's header is not valid")?;
        let rows = take(&mut rest, header.cited.bytes, "the cited events")?;
        let cited = CitedEvents::from_parts(header.cited, rows)
            .context("the state file's cited events are not valid")?;
        let mut rules = Vec::new();
        for rule in header.rules {
            let state = match (rule.parts, rule.failed) {
                (Some((cites, state)), None) => {
                    let what = format!("rule `{}`'s state", rule.id);
                    let cites = decode_cites(take(&mut rest, cites, &what)?)
                        .with_context(|| format!("{what} is not valid"))?;
                    let bytes = take(&mut rest, state, &what)?.to_vec();
                    Ok(RuleState { bytes, cites })
                }
                (None, Some(why)) => Err(why),
                _ => bail!(
                    "rule `{}`: the header gives it both a state and a failure, or neither",
                    rule.id
                ),
            };
            rules.push(SavedRule {
                id: rule.id,
                plugin_sha256: rule.plugin_sha256,
                state,
            });
        }
        if !rest.is_empty() {
            bail!(
                "the state file holds {} bytes the header does not account for",
                rest.len()
            );
        }
        let state = SavedState {
            covenant_version: header.covenant_version,
            policy_sha256: header.policy_sha256,
            chain: header.chain,
            checkpoint: header.checkpoint,
            position: RunPosition {
                next_ordinal: header.next_ordinal,
                id_key: header.id_key,
            },
            last_event: header.last_event,
            as_of: header.as_of,
            rules,
            cited,
        };
        state.carried()?;
        Ok(state)
    }

    /// Each rule's cited events with their ids, in the policy's order
    /// (none for a rule that failed): what the rule is handed back with its
    /// state. One pass over the cited events for every rule.
    pub fn carried(&self) -> Result<Vec<Vec<(u64, &str)>>> {
        let cites: Vec<&[u64]> = (self.rules.iter())
            .map(|rule| rule.state.as_ref().map_or(&[][..], |state| &state.cites))
            .collect();
        let carried = self.cited.carried(&cites);
        for (rule, (carried, cites)) in self.rules.iter().zip(carried.iter().zip(&cites)) {
            if let Some(missing) = cites.get(carried.len()) {
                bail!(
                    "rule `{}`: its state cites event {missing}, which the state file does not hold",
                    rule.id
                );
            }
        }
        Ok(carried)
    }

    /// Reads and checks the state file at `path`, under this user's state
    /// key. A file larger than `max_bytes` is refused unread.
    pub fn read(path: &Path, max_bytes: u64) -> Result<SavedState> {
        let shown = path.display();
        let length = std::fs::metadata(path)
            .with_context(|| format!("{shown}: cannot read the saved state"))?
            .len();
        if length > max_bytes {
            bail!(
                "{shown}: the state file is {length} bytes, more than the rules' memory limits allow a saved state ({max_bytes} bytes)"
            );
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("{shown}: cannot read the saved state"))?;
        let key = state_key()?;
        SavedState::from_bytes(&bytes, &key).with_context(|| shown.to_string())
    }

    /// Writes the state to `path`, sealed under this user's state key, so
    /// that it is whole or not there: an earlier state at `path` stays as
    /// it was until the new one is complete.
    pub fn write(&self, path: &Path) -> Result<()> {
        let key = state_key()?;
        write_atomically(path, &self.to_bytes(&key))
            .with_context(|| format!("{}: cannot save the state", path.display()))
    }

    /// Refuses, saying what differs, a state that `policy` and its plugins
    /// (`plugin_sha256`, in the policy's order; `None` for one that could
    /// not be read) cannot carry on: one saved by another Covenant, under
    /// another policy, or by another build of a plugin.
    pub fn check_fits(&self, policy: &Policy, plugin_sha256: &[Option<String>]) -> Result<()> {
        let ours = env!("CARGO_PKG_VERSION");
        if self.covenant_version != ours {
            bail!(
                "the state was saved by covenant {}, but this is covenant {ours}; resume it with the version that saved it",
                self.covenant_version
            );
        }
        if self.policy_sha256 != policy.sha256 {
            bail!(
                "the state was saved under a policy with sha256 {}, but {} has sha256 {}; resume a chain under the policy it started with",
                self.policy_sha256,
                policy.source,
                policy.sha256
            );
        }
        for (rule, (spec, digest)) in self
            .rules
            .iter()
            .zip(policy.rules.iter().zip(plugin_sha256))
        {
            if digest.as_deref() != Some(rule.plugin_sha256.as_str()) {
                let now = digest.as_deref().unwrap_or("unreadable");
                bail!(
                    "rule `{}`: the state was saved by the plugin with sha256 {}, but {} is now sha256 {now}; a plugin's state is handed back only to the build that saved it",
                    spec.id,
                    rule.plugin_sha256,
                    spec.plugin
                );
            }
        }
        Ok(())
    }
}

impl Checkpoint {
    /// Checks that event number `events` of the log resumed is the last
    /// one the checkpoint saw: otherwise the log is not the interrupted
    /// run's.
    pub fn check_last(&self, events: u64, id: &str, time: Timestamp) -> Result<()> {
        if (id, time) != (self.last_id.as_str(), self.last_time) {
            bail!(
                "event {events} of the log is `{id}` at {time}, but the checkpoint was taken after `{}` at {}; resume a checkpoint with the inputs of the run it was taken of",
                self.last_id,
                self.last_time
            );
        }
        Ok(())
    }
}

/// This user's key for sealing states: `$COVENANT_STATE_KEY`, else the
/// key file (made on first use). A run that will save a state asks for it
/// first, so that a missing or bad key fails the run before it reads the
/// log rather than after.
pub fn state_key() -> Result<Vec<u8>> {
    crate::runtime::cache::user_key("COVENANT_STATE_KEY", "state.key")
        .map_err(|why| anyhow!("no key to seal saved states with: {why}"))
}

/// The next `len` bytes of `rest`, which holds `what`.
fn take<'a>(rest: &mut &'a [u8], len: u64, what: &str) -> Result<&'a [u8]> {
    let len = (usize::try_from(len).ok())
        .filter(|&len| len <= rest.len())
        .ok_or_else(|| anyhow!("{what} runs past the state file's end"))?;
    let (taken, left) = rest.split_at(len);
    *rest = left;
    Ok(taken)
}

/// `cites` (increasing) as LEB128: the first, then each one's distance
/// from the one before.
fn encode_cites(cites: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cites.len() * 3);
    let mut before = 0;
    for &ordinal in cites {
        put_varint(&mut out, ordinal - before);
        before = ordinal;
    }
    out
}

/// What [`encode_cites`] wrote; an ordinal that does not increase is an
/// error.
fn decode_cites(bytes: &[u8]) -> Result<Vec<u64>> {
    let mut bytes = Bytes::new(bytes);
    let mut cites: Vec<u64> = Vec::new();
    while !bytes.is_empty() {
        let delta = bytes.varint()?;
        let ordinal = match cites.last() {
            None => delta,
            Some(_) if delta == 0 => bail!("it cites an event twice"),
            Some(before) => {
                (before.checked_add(delta)).ok_or_else(|| anyhow!("an ordinal overflows"))?
            }
        };
        cites.push(ordinal);
    }
    Ok(cites)
}

/// HMAC-SHA256 of `bytes` under `key`.
fn seal(key: &[u8], bytes: &[u8]) -> [u8; SEAL_LEN] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

/// The link of a run that reads `inputs` after the chain link `after`
/// (`None` for a chain's first run).
pub fn chain_link(after: Option<&ChainLink>, inputs: &[InputSummary]) -> ChainLink {
    let mut hasher = Sha256::new();
    hasher.update(b"covenant-chain\0");
    if let Some(after) = after {
        hasher.update(after.digest.as_bytes());
    }
    for input in inputs {
        hasher.update(b"\0");
        hasher.update(input.sha256.as_bytes());
    }
    ChainLink {
        part: after.map_or(1, |a| a.part + 1),
        after: after.map(|a| a.digest.clone()),
        digest: crate::policy::hex(&hasher.finalize()),
    }
}

/// The size beyond which a state file for `policy` is refused unread: its
/// rules' memory limits together, since each state is built in its
/// plugin's memory, and room for the header.
pub fn max_state_bytes(policy: &Policy) -> u64 {
    (policy.rules.iter())
        .map(|rule| rule.limits.memory_mib << 20)
        .fold(HEADER_ALLOWANCE, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::cited::{CitedEventsBuilder, PlaceParts};
    use super::*;
    use crate::events::InputFormat;

    const KEY: &[u8] = b"a test key of the state's seal";

    fn state(cites: Vec<u64>) -> SavedState {
        let mut cited = CitedEventsBuilder::default();
        let day = cited.input("day-1.jsonl", InputFormat::Jsonl);
        let place = |line| PlaceParts {
            time: Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            },
            input: day,
            line,
            tenant: Some("contoso"),
            data_id: Some("item-1"),
        };
        cited.push(3, "evt-3", Some(place(3)));
        cited.push(9, "evt-9", Some(place(9)));
        SavedState {
            covenant_version: env!("CARGO_PKG_VERSION").to_string(),
            policy_sha256: "ab".repeat(32),
            chain: None,
            position: RunPosition {
                next_ordinal: 10,
                id_key: [7; 16],
            },
            last_event: None,
            as_of: None,
            rules: vec![
                SavedRule {
                    id: "retention".to_string(),
                    plugin_sha256: "cd".repeat(32),
                    state: Ok(RuleState {
                        bytes: vec![1, 2, 3],
                        cites,
                    }),
                },
                SavedRule {
                    id: "segregation".to_string(),
                    plugin_sha256: "ef".repeat(32),
                    state: Err("ran out of fuel".to_string()),
                },
            ],
            cited: cited.finish(),
            checkpoint: None,
        }
    }

    #[test]
    fn a_state_read_back_equals_the_one_saved_and_carries_its_cited_events() {
        let saved = state(vec![3, 9]);
        let back = SavedState::from_bytes(&saved.to_bytes(KEY), KEY).unwrap();
        assert_eq!(back, saved);
        assert_eq!(
            back.carried().unwrap(),
            [vec![(3, "evt-3"), (9, "evt-9")], vec![]]
        );
    }

    #[test]
    fn a_state_whose_rule_cites_an_event_it_does_not_hold_is_refused() {
        let bytes = state(vec![3, 4]).to_bytes(KEY);
        let error = format!("{:#}", SavedState::from_bytes(&bytes, KEY).unwrap_err());
        assert!(
            error.contains("rule `retention`: its state cites event 4"),
            "{error}"
        );
    }

    #[test]
    fn every_changed_byte_and_another_key_are_refused() {
        let bytes = state(vec![9]).to_bytes(KEY);
        assert!(SavedState::from_bytes(&bytes, b"another key").is_err());
        for at in (0..bytes.len()).step_by(7) {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            assert!(SavedState::from_bytes(&changed, KEY).is_err(), "byte {at}");
        }
        let error = SavedState::from_bytes(b"covenant-state/1 and so on", KEY).unwrap_err();
        assert!(error.to_string().contains("format version 1"), "{error}");
    }
}
