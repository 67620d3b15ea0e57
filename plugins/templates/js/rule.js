// `{{id}}`: a Covenant rule, in JavaScript.
//
// This skeleton flags every `share` of customer data with a partner that the
// configuration does not allow. Replace the check in `Evaluator.check` with
// your own; keep the shape: configuration in, one call per batch of events,
// findings out.
//
// Through the interface (wit/rule.wit), as componentize-js maps it: the
// exported interface `rule` is the exported object `rule`, and the resource
// `evaluator` its class `Evaluator`; records are plain objects with
// camelCase fields (`eventId`); an absent `option` is `undefined`; an `s64`
// (`time.seconds`) is a BigInt; an enum case is its name as a string.

// The rule's defaults: a policy's `[rule.config]` table overrides them key by
// key, and any other key is refused, so a typo is an error, not a setting
// silently ignored.
const DEFAULTS = {
  // Partner ids that may receive shared customer data.
  allowed_partners: [],
};

/** One run of the rule. Keep whatever must be remembered between events in
 * `this`: the host calls `observe` with every event, in time order. */
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
  }

  observe(batch) {
    const findings = [];
    for (const event of batch) {
      const finding = this.check(event);
      if (finding) findings.push(finding);
    }
    return findings;
  }

  /** The rule's decision on one event: a finding, or null. */
  check(event) {
    const { actor, data } = event;
    if (event.action !== "share" || data == null || actor == null) {
      return null;
    }
    if (actor.kind !== "partner") {
      return null;
    }
    const partner = actor.id ?? "(no id)";
    if (this.allowedPartners.includes(partner)) {
      return null;
    }
    // A finding names an event the host sent, and says in plain words what
    // was wrong, with the ids an auditor needs to look it up.
    return {
      eventId: event.id,
      message: `event ${event.id} shares customer data with partner ${partner}, which is not allowed`,
    };
  }

  // Called once after the last event: report here what should have
  // happened by `asOf` and did not.
  finish(_asOf) {
    return [];
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
