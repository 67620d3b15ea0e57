"""`personnel-purpose-py`: Microsoft personnel touch customer data only for
an allowed purpose, written in Python.

The same decision as the built-in Rust rule `personnel-access`
(plugins/personnel-access/src/lib.rs), with the same configuration: an
event in which an actor of a governed kind touches `data` is a finding
unless its `purpose` is one of the allowed purposes; no purpose at all is
a finding too.

componentize-py looks up the class implementing each exported interface in
the module it is given (`Rule` for the `rule` interface) and the class
implementing each exported resource in the module named after its interface
(`Evaluator` in module `rule`). This file is that module for both.

A batch of events arrives as one frame of bytes (wit/v3/frame.md), read
with the repository's reference decoder, `covenant_frame.py`, which
`build.sh` puts beside this file.
"""

import json
from datetime import datetime, timedelta, timezone
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

RULE_ID = "personnel-purpose-py"
VERSION = "0.1.0"

DESCRIPTION = (
    "Every event in which personnel touch customer data declares an allowed "
    "purpose: providing security recommendations or investigating threats. "
    "The personnel-access rule, written in Python."
)

# The personnel-access sentence of policies/defender-for-cloud.toml.
COMMITMENT = (
    "To provide security recommendations and investigate potential security "
    "threats, Microsoft personnel might access information collected or "
    "analyzed by Azure services, including process creation events, AI "
    "prompts and other artifacts, which might unintentionally include "
    "customer data or personal data from your machines."
)

# The built-in rule's defaults, so that an empty `[rule.config]` means the
# same thing to every implementation of the commitment.
DEFAULTS = {
    "actor_kinds": ["personnel"],
    "allowed_purposes": ["security-recommendations", "threat-investigation"],
}


def parse_config(text: str) -> dict:
    """Reads the policy's `config` table (JSON text), refusing what the
    built-in rule refuses: anything but a table, unknown keys, and values
    that are not lists of strings. Raises `ValueError` worded like the Rust
    SDK's configuration errors: the key's path, then what is wrong."""
    try:
        given = json.loads(text)
    except ValueError as e:
        raise ValueError(f"config is not valid JSON: {e}") from None
    if not isinstance(given, dict):
        raise ValueError(f"config: invalid type: {unexpected(given)}, expected a table")
    config = dict(DEFAULTS)
    for key, value in given.items():
        if key not in DEFAULTS:
            expected = " or ".join(f"`{k}`" for k in DEFAULTS)
            raise ValueError(f"config.{key}: unknown field `{key}`, expected {expected}")
        if not isinstance(value, list):
            raise ValueError(
                f"config.{key}: invalid type: {unexpected(value)}, expected a list of strings"
            )
        for n, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(
                    f"config.{key}[{n}]: invalid type: {unexpected(item)}, expected a string"
                )
        config[key] = value
    return config


def unexpected(value) -> str:
    """A parsed JSON value as serde names what it did not expect."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    return "sequence" if isinstance(value, list) else "map"


def is_one_of(value, terms) -> bool:
    """Whether `value` is one of the configured `terms`, without regard to
    ASCII case (bytes.lower folds only ASCII), as the Rust SDK's Terms."""
    return value is not None and any(
        value.encode().lower() == term.encode().lower() for term in terms
    )


def rfc3339(seconds: int, nanos: int) -> str:
    """The instant in UTC, with only as many fractional digits as needed,
    as the Rust SDK prints it."""
    try:
        when = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    except OverflowError:
        return f"{seconds}.{nanos:09d}s since 1970-01-01T00:00:00Z"
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos == 0:
        fraction = ""
    elif nanos % 1_000_000 == 0:
        fraction = f".{nanos // 1_000_000:03d}"
    elif nanos % 1_000 == 0:
        fraction = f".{nanos // 1_000:06d}"
    else:
        fraction = f".{nanos:09d}"
    return f"{text}{fraction}Z"


# What the rule reads (the host sends nothing else): as the WIT's flags, and
# as the decoder names the same fields.
READS = Fields.ID | Fields.ACTION | Fields.ACTOR_KIND | Fields.ACTOR_ID | Fields.PURPOSE | Fields.DATA_ID
READ_NAMES = ["id", "action", "actor-kind", "actor-id", "purpose", "data-id"]


class Rule(exports.Rule):
    def describe(self) -> Metadata:
        return Metadata(
            id=RULE_ID,
            version=VERSION,
            description=DESCRIPTION,
            commitment=COMMITMENT,
            severity=Severity.HIGH,
        )


class Evaluator(wit_rule.Evaluator):
    """Holds only the configuration: each event is judged alone."""

    def __init__(self, config: str) -> None:
        # Raising `Err` is how a constructor returns the `result`'s error
        # case; any other exception would trap the plugin instead.
        try:
            parsed = parse_config(config)
        except ValueError as e:
            raise Err(f"rule {RULE_ID}: {e}")
        self.actor_kinds = parsed["actor_kinds"]
        self.allowed = parsed["allowed_purposes"]
        self.decoder = Decoder(READ_NAMES, [])

    @classmethod
    def restore(cls, config: str, snapshot: bytes) -> "Evaluator":
        # The rule keeps nothing between events, so its snapshot is empty.
        return cls(config)

    def projection(self) -> Projection:
        return Projection(fields=READS, actions=[], attributes=[])

    def observe(self, frame: bytes) -> List[Finding]:
        findings = []
        for event in self.decoder.decode(frame):
            message = self.check(event)
            if message is not None:
                findings.append(Finding(event=event.ordinal, message=message))
        return findings

    def check(self, event: Event):
        """The finding's message for one event, or None when it complies."""
        # The built-in rule's readings of values: configured vocabulary
        # matches without regard to ASCII case, and an empty value is none.
        kind = event.text("actor-kind") or None
        if not event.has_data or not event.has_actor or not is_one_of(kind, self.actor_kinds):
            return None
        purpose = event.text("purpose") or None
        if purpose is None:
            why = "for no purpose"
        elif is_one_of(purpose, self.allowed):
            return None
        else:
            why = f"for `{purpose}`"
        actor_id = event.text("actor-id") or None
        who = f"{kind} {actor_id}" if actor_id is not None else f"{kind} with no id"
        data = event.data_id
        data_name = f"data {data[0]}" if data is not None else "data with no id"
        return (
            f"event {event.id} ({event.text('action')} at {rfc3339(*event.time)}): "
            f"{who} touched {data_name} {why}; "
            f"allowed purposes are {', '.join(self.allowed)}"
        )

    def finish(self, as_of: Timestamp) -> Conclusion:
        return Conclusion(findings=[], unassessable=[])

    def snapshot(self) -> Snapshot:
        return Snapshot(state=b"", cites=[])
