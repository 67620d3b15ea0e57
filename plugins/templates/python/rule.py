"""`{{id}}`: a Covenant rule, in Python.

This skeleton flags every `share` of customer data with a partner that the
configuration does not allow. Replace the check in `Evaluator.check` with
your own; keep the shape: configuration in, what the rule reads, one call
per batch of events, findings out.

componentize-py finds the class for the exported interface `rule` (`Rule`)
in the module it is told to build, and the class for the resource
`evaluator` (`Evaluator`) in the module named after the interface: this
file, `rule.py`, is both. A batch arrives as one frame of bytes, which
`covenant_frame.py` (beside this file; see wit/frame.md) decodes into
events whose fields are read lazily.
"""

import json
from typing import List

from componentize_py_types import Err
from covenant_frame import Decoder, Event
from wit_world import exports
from wit_world.exports import rule as wit_rule
from wit_world.imports.types import (
    Conclusion,
    Fields,
    Finding,
    Metadata,
    Projection,
    Severity,
    Snapshot,
    Timestamp,
)

# The rule's defaults: a policy's `[rule.config]` table overrides them key by
# key, and any other key is refused, so a typo is an error, not a setting
# silently ignored.
DEFAULTS = {
    # Partner ids that may receive shared customer data.
    "allowed_partners": [],
}

# What the rule reads: the host sends it these fields of the events of these
# actions, and nothing else. Name the same fields twice, as the interface's
# flags and as the decoder's names.
READS = Fields.ID | Fields.ACTOR_KIND | Fields.ACTOR_ID
READ_NAMES = ["id", "actor-kind", "actor-id"]
ACTIONS = ["share"]


class Rule(exports.Rule):
    def describe(self) -> Metadata:
        return Metadata(
            id="{{id}}",
            version="0.1.0",
            description="No customer data is shared with a partner the configuration does not allow.",
            # Quote the published sentence this rule checks.
            commitment="We do not share your data with third parties.",
            # The default severity of its findings; a policy may override it.
            severity=Severity.HIGH,
        )


class Evaluator(wit_rule.Evaluator):
    """One run of the rule. Keep whatever must be remembered between events
    in `self`: the host calls `observe` with every event it reads, in time
    order."""

    def __init__(self, config: str) -> None:
        # `config` is the policy's `[rule.config]` table as JSON (`{}` when
        # absent). Raising `Err` returns the constructor's error: the rule
        # is not run, and the report shows the message. Any other exception
        # would trap the plugin instead.
        settings = dict(DEFAULTS)
        given = json.loads(config)
        if not isinstance(given, dict):
            raise Err("rule {{id}}: config: expected a table")
        for key, value in given.items():
            if key not in DEFAULTS:
                raise Err(f"rule {{id}}: config.{key}: unknown field `{key}`")
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise Err(f"rule {{id}}: config.{key}: expected a list of strings")
            settings[key] = value
        self.allowed_partners = settings["allowed_partners"]
        self.decoder = Decoder(READ_NAMES, [])

    @classmethod
    def restore(cls, config: str, snapshot: bytes) -> "Evaluator":
        # Builds the evaluator an earlier run's `snapshot` describes. This
        # rule keeps nothing between events, so there is nothing to restore.
        return cls(config)

    def projection(self) -> Projection:
        return Projection(fields=READS, actions=ACTIONS, attributes=[])

    def observe(self, frame: bytes) -> List[Finding]:
        findings = []
        for event in self.decoder.decode(frame):
            message = self.check(event)
            if message is not None:
                # A finding names the event by its ordinal; the host turns
                # that into the event's id and place for the report.
                findings.append(Finding(event=event.ordinal, message=message))
        return findings

    def check(self, event: Event):
        """The rule's decision on one event: a finding's message, or None."""
        # A field that is absent from the event is None.
        if not event.has_data or not event.has_actor:
            return None
        if event.text("actor-kind") != "partner":
            return None
        partner = event.text("actor-id") or "(no id)"
        if partner in self.allowed_partners:
            return None
        # Say in plain words what was wrong, with the ids an auditor needs
        # to look it up.
        return f"event {event.id} shares customer data with partner {partner}, which is not allowed"

    def finish(self, as_of: Timestamp) -> Conclusion:
        # Called once after the last event: report here what should have
        # happened by `as_of` and did not, and what the log cannot show
        # either way (`unassessable`).
        return Conclusion(findings=[], unassessable=[])

    def snapshot(self) -> Snapshot:
        # What a later run needs to carry on from here (see `restore`), and
        # the ordinals of the events it still names, which that run's
        # findings may cite.
        return Snapshot(state=b"", cites=[])
