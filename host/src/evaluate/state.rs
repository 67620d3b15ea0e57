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
//! "covenant-state/1"   16 bytes: the format and its version
//! header length        8 bytes, little-endian
//! header               JSON (`Header`): versions, digests, where the run stopped,
//!                      each rule's saved state's length and cited events
//! rule states          each rule's state as its plugin encoded it, in header order
//! seal                 32 bytes: HMAC-SHA256 of everything before it
//! ```
//!
//! It holds data ids' keyed hashes, event ids, tenants and the places of
//! the events the rules still need: keep it as private as the logs.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::events::{InputSummary, SourcePlace, SourcePlaces, Timestamp};
use crate::policy::Policy;
use crate::report::ChainLink;
use crate::report::atomic_file::write_atomically;
use crate::runtime::{RuleSnapshot, RunPosition};

/// The first bytes of every state file: the format and its version.
const MAGIC: &[u8; 16] = b"covenant-state/1";

/// The length of the seal at the end of the file.
const SEAL_LEN: usize = 32;

/// Room for the header beyond the rules' states, when bounding the size
/// of a file to read (see [`SavedState::read`]).
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
    /// Each rule's state, in the policy's order.
    pub rules: Vec<SavedRule>,
    /// The places of the events the rules' states cite: a later run's
    /// findings may be about them. A checkpoint holds only those earlier
    /// runs placed: the run that resumes it reads the interrupted run's
    /// inputs again, and places the rest itself.
    pub places: SourcePlaces,
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
    pub snapshot: Result<RuleSnapshot, String>,
}

/// The part of the file before the rules' states.
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
    rules: Vec<HeaderRule>,
    places: Vec<(String, SourcePlace)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderRule {
    id: String,
    plugin_sha256: String,
    /// The length of the rule's state in the file; absent when `failed`.
    state_bytes: Option<u64>,
    cited: Vec<(u64, String)>,
    failed: Option<String>,
}

impl SavedState {
    /// The file's bytes, sealed with `key`.
    pub fn to_bytes(&self, key: &[u8]) -> Vec<u8> {
        let mut places: Vec<(String, SourcePlace)> = (self.places.iter())
            .map(|(id, place)| (id.clone(), place.clone()))
            .collect();
        places.sort_by(|a, b| a.0.cmp(&b.0));
        let header = Header {
            covenant_version: self.covenant_version.clone(),
            policy_sha256: self.policy_sha256.clone(),
            chain: self.chain.clone(),
            checkpoint: self.checkpoint.clone(),
            next_ordinal: self.position.next_ordinal,
            id_key: self.position.id_key,
            last_event: self.last_event,
            rules: (self.rules.iter())
                .map(|rule| {
                    let (state_bytes, cited, failed) = match &rule.snapshot {
                        Ok(s) => (Some(s.state.len() as u64), s.cited.clone(), None),
                        Err(why) => (None, Vec::new(), Some(why.clone())),
                    };
                    HeaderRule {
                        id: rule.id.clone(),
                        plugin_sha256: rule.plugin_sha256.clone(),
                        state_bytes,
                        cited,
                        failed,
                    }
                })
                .collect(),
            places,
        };
        let header = serde_json::to_vec(&header).expect("a header always serialises");
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        for rule in &self.rules {
            if let Ok(snapshot) = &rule.snapshot {
                bytes.extend_from_slice(&snapshot.state);
            }
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
                "a state file of format version {version}, but this Covenant reads version 1; resume it with the Covenant that saved it"
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
        let length_at = MAGIC.len();
        let header_len = u64::from_le_bytes(body[length_at..length_at + 8].try_into().unwrap());
        let header_end = (length_at as u64 + 8)
            .checked_add(header_len)
            .filter(|&end| end <= body.len() as u64)
            .ok_or_else(|| anyhow!("the state file's header runs past its end"))?
            as usize;
        let header: Header = serde_json::from_slice(&body[length_at + 8..header_end])
            .context("the state file's header is not valid")?;
        let mut states = &body[header_end..];
        let mut rules = Vec::new();
        for rule in header.rules {
            let snapshot = match (rule.state_bytes, rule.failed) {
                (Some(len), None) => {
                    let len = usize::try_from(len).ok().filter(|&l| l <= states.len());
                    let len = len.ok_or_else(|| {
                        anyhow!("rule `{}`: its state runs past the file's end", rule.id)
                    })?;
                    let (state, rest) = states.split_at(len);
                    states = rest;
                    Ok(RuleSnapshot {
                        state: state.to_vec(),
                        cited: rule.cited,
                    })
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
                snapshot,
            });
        }
        if !states.is_empty() {
            bail!(
                "the state file holds {} bytes the header does not account for",
                states.len()
            );
        }
        Ok(SavedState {
            covenant_version: header.covenant_version,
            policy_sha256: header.policy_sha256,
            chain: header.chain,
            checkpoint: header.checkpoint,
            position: RunPosition {
                next_ordinal: header.next_ordinal,
                id_key: header.id_key,
            },
            last_event: header.last_event,
            rules,
            places: header.places.into_iter().collect(),
        })
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

/// This user's key for sealing states.
fn state_key() -> Result<Vec<u8>> {
    crate::runtime::cache::user_key("COVENANT_STATE_KEY", "state.key")
        .map_err(|why| anyhow!("no key to seal saved states with: {why}"))
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
