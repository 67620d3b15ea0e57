"""`{{id}}`: a Covenant rule, in Python.

This skeleton flags every `share` of customer data with a partner that the
configuration does not allow. Replace the check in `Evaluator.check` with
your own; keep the shape: configuration in, one call per batch of events,
findings out.

componentize-py finds the class for the exported interface `rule` (`Rule`)
in the module it is told to build, and the class for the resource
`evaluator` (`Evaluator`) in the module named after the interface: this
file, `rule.py`, is both.
"""

import json
from typing import List

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import rule as wit_rule
from wit_world.imports.types import Event, Finding, Metadata, Severity, Timestamp

# The rule's defaults: a policy's `[rule.config]` table overrides them key by
# key, and any other key is refused, so a typo is an error, not a setting
# silently ignored.
DEFAULTS = {
    # Partner ids that may receive shared customer data.
    "allowed_partners": [],
}


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
    in `self`: the host calls `observe` with every event, in time order."""

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

    def observe(self, batch: List[Event]) -> List[Finding]:
        findings = []
        for event in batch:
            finding = self.check(event)
            if finding is not None:
                findings.append(finding)
        return findings

    def check(self, event: Event):
        """The rule's decision on one event: a finding, or None."""
        # Absent `option` fields are None.
        actor = event.actor
        if event.action != "share" or event.data is None or actor is None:
            return None
        if actor.kind != "partner":
            return None
        partner = actor.id if actor.id is not None else "(no id)"
        if partner in self.allowed_partners:
            return None
        # A finding names an event the host sent, and says in plain words
        # what was wrong, with the ids an auditor needs to look it up.
        return Finding(
            event_id=event.id,
            message=f"event {event.id} shares customer data with partner {partner}, which is not allowed",
        )

    def finish(self, as_of: Timestamp) -> List[Finding]:
        # Called once after the last event: report here what should have
        # happened by `as_of` and did not.
        return []
