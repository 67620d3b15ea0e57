// `{{id}}`: a Covenant rule, in JavaScript.
//
// This skeleton flags every `share` of customer data with a partner that the
// configuration does not allow. Replace the check in `Evaluator.check` with
// your own; keep the shape: configuration in, what the rule reads, one call
// per batch of events, findings out.
//
// Through the interface (wit/rule.wit), as componentize-js maps it: the
// exported interface `rule` is the exported object `rule`, and the resource
// `evaluator` its class `Evaluator`; records are plain objects with
// camelCase fields (`asOf`); `flags` are objects of booleans; a `list<u8>`
// is a Uint8Array; a `u64` or `s64` is a BigInt; an enum case is its name as
// a string. A batch arrives as one frame of bytes, which
// `covenant_frame.mjs` (beside this file; see wit/frame.md) decodes into
// events whose fields are read lazily.

import { Decoder } from "./covenant_frame.mjs";

// The rule's defaults: a policy's `[rule.config]` table overrides them key by
// key, and any other key is refused, so a typo is an error, not a setting
// silently ignored.
const DEFAULTS = {
  // Partner ids that may receive shared customer data.
  allowed_partners: [],
};

// What the rule reads: the host sends it these fields of the events of these
// actions, and nothing else. The interface's flags are these names
// camelCased.
const READS = ["id", "actor-kind", "actor-id"];
const ACTIONS = ["share"];

/** One run of the rule. Keep whatever must be remembered between events in
 * `this`: the host calls `observe` with every event it reads, in time
 * order. */
class Evaluator {
  constructor(config) {
    // `config` is the policy's `[rule.config]` table as JSON (`{}` when
    // absent). Throwing a string returns the constructor's error: the rule
    // is not run, and the report shows the message. Throwing anything else
    // (an `Error`) traps the plugin instead.
    const settings = { ...DEFAULTS };
    const given = JSON.parse(config);
    if (given === null || typeof given !== "object" || Array.isArray(given)) {
      throw "rule {{id}}: config: expected a table";
    }
    for (const [key, value] of Object.entries(given)) {
      if (!Object.hasOwn(DEFAULTS, key)) {
        throw `rule {{id}}: config.${key}: unknown field \`${key}\``;
      }
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        throw `rule {{id}}: config.${key}: expected a list of strings`;
      }
      settings[key] = value;
    }
    this.allowedPartners = settings.allowed_partners;
    this.decoder = new Decoder(READS, []);
  }

  // Builds the evaluator an earlier run's `snapshot` describes. This rule
  // keeps nothing between events, so there is nothing to restore.
  static restore(config, _snapshot) {
    return new Evaluator(config);
  }

  projection() {
    const fields = Object.fromEntries(
      READS.map((name) => [name.replace(/-(.)/g, (_, c) => c.toUpperCase()), true]),
    );
    return { fields, actions: ACTIONS, attributes: [] };
  }

  observe(frame) {
    const findings = [];
    for (const event of this.decoder.decode(frame)) {
      const message = this.check(event);
      // A finding names the event by its ordinal; the host turns that into
      // the event's id and place for the report.
      if (message !== null) findings.push({ event: event.ordinal, message });
    }
    return findings;
  }

  /** The rule's decision on one event: a finding's message, or null. */
  check(event) {
    // A field that is absent from the event is null.
    if (!event.hasData || !event.hasActor || event.text("actor-kind") !== "partner") {
      return null;
    }
    const partner = event.text("actor-id") ?? "(no id)";
    if (this.allowedPartners.includes(partner)) {
      return null;
    }
    // Say in plain words what was wrong, with the ids an auditor needs to
    // look it up.
    return `event ${event.id} shares customer data with partner ${partner}, which is not allowed`;
  }

  // Called once after the last event: report here what should have happened
  // by `asOf` and did not, and what the log cannot show either way
  // (`unassessable`).
  finish(_asOf) {
    return { findings: [], unassessable: [] };
  }

  // What a later run needs to carry on from here (see `restore`), and the
  // ordinals of the events it still names, which that run's findings may
  // cite.
  snapshot() {
    return { state: new Uint8Array(0), cites: [] };
  }
}

export const rule = {
  describe() {
    return {
      id: "{{id}}",
      version: "0.1.0",
      description: "No customer data is shared with a partner the configuration does not allow.",
      // Quote the published sentence this rule checks.
      commitment: "We do not share your data with third parties.",
      // The default severity of its findings; a policy may override it.
      severity: "high",
    };
  },
  Evaluator,
};
