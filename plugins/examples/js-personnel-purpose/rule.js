// `personnel-purpose-js`: Microsoft personnel touch customer data only for
// an allowed purpose, written in JavaScript.
//
// The same decision as the built-in Rust rule `personnel-access`
// (plugins/personnel-access/src/lib.rs), with the same configuration: an
// event in which an actor of a governed kind touches `data` is a finding
// unless its `purpose` is one of the allowed purposes; no purpose at all is
// a finding too.
//
// componentize-js maps the WIT to JavaScript like this: the exported
// interface `rule` is the exported object `rule`; the resource `evaluator`
// is its class `Evaluator`; records are plain objects with camelCase fields
// (`asOf`); an absent `option` is `undefined`; an `s64` is a BigInt; an
// enum case is its name as a string; `flags` are an object of booleans; a
// `list<u8>` is a Uint8Array; a `u64` is a BigInt. A function returning
// `result` returns the ok value and throws the error value (a string).
//
// A batch of events arrives as one frame of bytes (wit/v3/frame.md), read
// here with the repository's reference decoder, which the build bundles in
// (componentize-js takes one module).

import { Decoder } from "../../../wit/v3/decoders/covenant_frame.mjs";

const RULE_ID = "personnel-purpose-js";
const VERSION = "0.1.0";

const DESCRIPTION =
  "Every event in which personnel touch customer data declares an allowed " +
  "purpose: providing security recommendations or investigating threats. " +
  "The personnel-access rule, written in JavaScript.";

// The personnel-access sentence of policies/defender-for-cloud.toml.
const COMMITMENT =
  "To provide security recommendations and investigate potential security " +
  "threats, Microsoft personnel might access information collected or " +
  "analyzed by Azure services, including process creation events, AI " +
  "prompts and other artifacts, which might unintentionally include " +
  "customer data or personal data from your machines.";

// The built-in rule's defaults, so that an empty `[rule.config]` means the
// same thing to every implementation of the commitment.
const DEFAULTS = {
  actor_kinds: ["personnel"],
  allowed_purposes: ["security-recommendations", "threat-investigation"],
};

/**
 * Reads the policy's `config` table (JSON text), refusing what the built-in
 * rule refuses: anything but a table, unknown keys, and values that are not
 * lists of strings. Throws a message worded like the Rust SDK's
 * configuration errors: the key's path, then what is wrong.
 */
function parseConfig(text) {
  let given;
  try {
    given = JSON.parse(text);
  } catch (e) {
    throw `config is not valid JSON: ${e.message}`;
  }
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw `config: invalid type: ${unexpected(given)}, expected a table`;
  }
  const config = { ...DEFAULTS };
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(DEFAULTS, key)) {
      const expected = Object.keys(DEFAULTS).map((k) => `\`${k}\``).join(" or ");
      throw `config.${key}: unknown field \`${key}\`, expected ${expected}`;
    }
    if (!Array.isArray(value)) {
      throw `config.${key}: invalid type: ${unexpected(value)}, expected a list of strings`;
    }
    value.forEach((item, n) => {
      if (typeof item !== "string") {
        throw `config.${key}[${n}]: invalid type: ${unexpected(item)}, expected a string`;
      }
    });
    config[key] = value;
  }
  return config;
}

/** A parsed JSON value as serde names what it did not expect. */
function unexpected(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "sequence";
  switch (typeof value) {
    case "boolean":
      return `boolean \`${value}\``;
    case "number":
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
    case "string":
      return `string ${JSON.stringify(value)}`;
    default:
      return "map";
  }
}

/**
 * The instant in UTC, with only as many fractional digits as needed, as the
 * Rust SDK prints it. `seconds` is a BigInt, as the frame decoder gives it.
 */
function rfc3339([seconds, nanos]) {
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) {
    return `${seconds}.${String(nanos).padStart(9, "0")}s since 1970-01-01T00:00:00Z`;
  }
  const whole = date.toISOString().slice(0, -5); // drop ".000Z"
  let fraction = "";
  if (nanos % 1_000_000 === 0 && nanos !== 0) {
    fraction = "." + String(nanos / 1_000_000).padStart(3, "0");
  } else if (nanos % 1_000 === 0 && nanos !== 0) {
    fraction = "." + String(nanos / 1_000).padStart(6, "0");
  } else if (nanos !== 0) {
    fraction = "." + String(nanos).padStart(9, "0");
  }
  return `${whole}${fraction}Z`;
}

/**
 * What the rule reads (the host sends nothing else): the WIT's `fields`
 * flags, camelCased, and the same names for the frame decoder.
 */
const READS = ["id", "action", "actor-kind", "actor-id", "purpose", "data-id"];

/** ASCII lower case, leaving every other character as it is. */
const asciiLower = (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Whether `value` is one of the configured `terms`, without regard to ASCII
 * case, as the Rust SDK's Terms.
 */
function isOneOf(value, terms) {
  return value !== null && terms.some((term) => asciiLower(term) === asciiLower(value));
}

/** Holds only the configuration: each event is judged alone. */
class Evaluator {
  constructor(config) {
    try {
      const parsed = parseConfig(config);
      this.actorKinds = parsed.actor_kinds;
      this.allowed = parsed.allowed_purposes;
    } catch (problem) {
      // Thrown from the constructor, a string is the `result`'s error case.
      throw `rule ${RULE_ID}: ${problem}`;
    }
    this.decoder = new Decoder(READS, []);
  }

  /** The rule keeps nothing between events, so a snapshot is empty. */
  static restore(config, _snapshot) {
    return new Evaluator(config);
  }

  projection() {
    const fields = Object.fromEntries(
      READS.map((name) => [name.replace(/-(.)/g, (_, c) => c.toUpperCase()), true]),
    );
    return { fields, actions: [], attributes: [] };
  }

  observe(frame) {
    const findings = [];
    for (const event of this.decoder.decode(frame)) {
      const message = this.check(event);
      if (message !== null) findings.push({ event: event.ordinal, message });
    }
    return findings;
  }

  /** The finding's message for one event, or null when it complies. */
  check(event) {
    // The built-in rule's readings of values: configured vocabulary matches
    // without regard to ASCII case, and an empty value is none.
    const kind = event.text("actor-kind") || null;
    if (!event.hasData || !event.hasActor || !isOneOf(kind, this.actorKinds)) {
      return null;
    }
    const purpose = event.text("purpose") || null;
    let why;
    if (purpose === null) {
      why = "for no purpose";
    } else if (isOneOf(purpose, this.allowed)) {
      return null;
    } else {
      why = `for \`${purpose}\``;
    }
    const actorId = event.text("actor-id") || null;
    const who = actorId === null ? `${kind} with no id` : `${kind} ${actorId}`;
    const dataName = event.dataId ? `data ${event.dataId.id}` : "data with no id";
    return (
      `event ${event.id} (${event.text("action")} at ${rfc3339(event.time)}): ` +
      `${who} touched ${dataName} ${why}; ` +
      `allowed purposes are ${this.allowed.join(", ")}`
    );
  }

  finish(_asOf) {
    return { findings: [], unassessable: [] };
  }

  snapshot() {
    return { state: new Uint8Array(0), cites: [] };
  }
}

export const rule = {
  describe() {
    return {
      id: RULE_ID,
      version: VERSION,
      description: DESCRIPTION,
      commitment: COMMITMENT,
      severity: "high",
    };
  },
  Evaluator,
};
