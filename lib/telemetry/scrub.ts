import type { Attributes, AttributeValue } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/**
 * The last gate before a span leaves the process (lib/telemetry/sdk.ts). Lockstep's own attributes
 * never hold an identifier (sid, sub, session id, jti, email) or a secret (token, cookie, code), by
 * construction; Next's spans, which share the SDK, record each request's URL as it came
 * (`http.target`, a `fetch` span's `http.url` and name), query string included: a front-channel
 * logout's `?iss=…&sid=…`, a sign-in callback's `?code=…&state=…`. So every URL or path in a span's
 * name and string attributes loses its query and fragment, and attributes whose very name says
 * they hold a credential or a user are dropped.
 */

/** A URL (scheme://…) or an absolute path, up to its query or fragment, then the rest of the word. */
const URL_WITH_QUERY = /((?:\b[a-z][a-z0-9+.-]*:\/\/|(?<![\w.])\/)[^\s?#]*)[?#]\S*/gi;

/** Attribute names that say what they hold: credentials, cookies, a user or the raw query. */
const SECRET_KEY = /cookie|authorization|token|secret|password|(^|\.)(sid|sub|jti|email)$|^enduser\.|(^|\.)query$/i;

export function withoutQueries(text: string): string {
  return text.replace(URL_WITH_QUERY, "$1");
}

function scrubValue(value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === "string") return withoutQueries(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? withoutQueries(v) : v)) as AttributeValue;
  return value;
}

export function scrubAttributes(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (SECRET_KEY.test(key)) continue;
    out[key] = scrubValue(value);
  }
  return out;
}

/** The span as exported: the same span (its context, times, status) with its name, attributes and events' attributes scrubbed. */
export function scrubbedSpan(span: ReadableSpan): ReadableSpan {
  return Object.create(span, {
    name: { value: withoutQueries(span.name) },
    attributes: { value: scrubAttributes(span.attributes) },
    events: { value: span.events.map((event) => (event.attributes ? { ...event, attributes: scrubAttributes(event.attributes) } : event)) },
    links: { value: span.links.map((link) => (link.attributes ? { ...link, attributes: scrubAttributes(link.attributes) } : link)) },
  }) as ReadableSpan;
}
