//! What the host does for a rule beyond calling it: the frames.
//!
//! Each rule cuts its own frames (`covenant-frame`) from the batches every
//! rule shares ([`super::batch`]), with only the fields and actions its
//! projection names; it keeps which events it was sent ([`SentIds`]) so
//! that the ordinals its findings name become event ids again, from the
//! run's one table of ids.

use anyhow::{Result, anyhow};
use covenant_frame::{FrameWriter, Projection};

use super::EventBatch;
use super::bindings::{self, wit};
use super::ordinals::SentIds;

/// The frames of one rule: its projection, the writer that cuts its
/// frames from the run's batches, and which events it was sent.
pub(super) struct Frames {
    projection: Projection,
    /// Made with the first batch, whose attributes (every rule's) fix the
    /// writer's columns.
    writer: Option<FrameWriter>,
    frame: Vec<u8>,
    sent: SentIds,
}

impl Frames {
    /// The frames for a rule that declared `declared`; an error names what
    /// in it this host cannot send, before any event is read.
    pub(super) fn new(declared: wit::Projection) -> Result<Frames> {
        let projection = bindings::projection(declared);
        // The run's batches carry at least this rule's attributes, so a
        // writer over them alone refuses what any writer would.
        FrameWriter::new(projection.clone(), &projection.attributes).map_err(unsendable)?;
        Ok(Frames {
            projection,
            writer: None,
            frame: Vec::new(),
            sent: SentIds::new()?,
        })
    }

    /// What the rule declared it reads, in words.
    pub(super) fn reads(&self) -> super::RuleReads {
        let projection = &self.projection;
        super::RuleReads {
            fields: projection
                .fields
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            actions: projection.actions.clone(),
            attributes: projection.attributes.clone(),
        }
    }

    /// The rule's frame of `batch`, the run's next.
    pub(super) fn frame(&mut self, batch: &EventBatch) -> Result<&[u8]> {
        let encoded = &batch.frame;
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => self.writer.insert(
                FrameWriter::new(self.projection.clone(), &encoded.attributes)
                    .map_err(unsendable)?,
            ),
        };
        self.sent.follow(&encoded.ids)?;
        let first = encoded.batch.first_ordinal();
        for &row in writer.write(&encoded.batch, &mut self.frame) {
            self.sent.push(first + row as u64)?;
        }
        self.sent.pass(first + encoded.batch.len() as u64);
        Ok(&self.frame)
    }

    /// Takes on the events an earlier run's state names, so that this
    /// run's findings may cite them; before the first frame.
    pub(super) fn carry(&mut self, cited: &[(u64, &str)]) -> Result<()> {
        for &(ordinal, id) in cited {
            self.sent.carry(ordinal, id)?;
        }
        Ok(())
    }

    /// The ids of the events a snapshot cites, which must be events the
    /// rule was sent, each once, in order.
    pub(super) fn cited(&mut self, cites: &[u64]) -> Result<Vec<(u64, String)>> {
        if let Some(pair) = cites.windows(2).find(|pair| pair[0] >= pair[1]) {
            return Err(anyhow!(
                "saved a state whose citations are not in increasing order (event {} before event {})",
                pair[0],
                pair[1]
            ));
        }
        let ids =
            (self.sent.resolve_in_order(cites)).map_err(|e| anyhow!("saved a state that {e:#}"))?;
        Ok(cites.iter().copied().zip(ids).collect())
    }

    /// The host's findings for a call's: each ordinal as the event id it
    /// was sent as. More than `max_findings` fail the call before any is
    /// looked up, so that a flood costs nothing to refuse.
    pub(super) fn findings(
        &mut self,
        findings: Vec<wit::Finding>,
        max_findings: u64,
    ) -> Result<Vec<super::Finding>> {
        if findings.len() as u64 > max_findings {
            return Err(anyhow!(super::too_many_findings(max_findings)));
        }
        let ordinals: Vec<u64> = findings.iter().map(|f| f.event).collect();
        let ids = self.sent.resolve(&ordinals)?;
        Ok(ids
            .into_iter()
            .zip(findings)
            .map(|(event_id, finding)| super::Finding {
                event_id,
                message: finding.message,
            })
            .collect())
    }
}

/// Why a rule's projection cannot be sent.
fn unsendable(reason: String) -> anyhow::Error {
    anyhow!("declared a projection the host cannot send: {reason}")
}
