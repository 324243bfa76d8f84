// Stream configurations (SSF 1.0 §8.1.1) and the validation of what Receivers send to create, update and
// replace them. Pure functions: the transmitter keeps the state.
import { isLoopbackUrl } from "../loopback-fetch";
import { canonicalJson, EVENTS_SUPPORTED, isPlainObject } from "./events";

/** RFC 8935 (push) and RFC 8936 (poll) delivery method URNs (SSF §6.1). */
export const PUSH_METHOD = "urn:ietf:rfc:8935";
export const POLL_METHOD = "urn:ietf:rfc:8936";

/** PUSH-01: the Receiver supplies the URL and, optionally, the Authorization header value to send. */
export type PushDelivery = { method: typeof PUSH_METHOD; endpoint_url: string; authorization_header?: string };
/** POLL-01: the Transmitter supplies the URL. */
export type PollDelivery = { method: typeof POLL_METHOD; endpoint_url: string };
export type Delivery = PushDelivery | PollDelivery;

/** A stream configuration as the management API shows it (SSF §8.1.1). */
export type StreamConfig = {
  stream_id: string;
  iss: string;
  aud: string;
  events_supported: string[];
  events_requested: string[];
  events_delivered: string[];
  delivery: Delivery;
  description?: string;
};

export type StreamStatus = "enabled" | "paused" | "disabled";
export const STREAM_STATUSES: readonly StreamStatus[] = ["enabled", "paused", "disabled"];

export function isStreamStatus(value: unknown): value is StreamStatus {
  return typeof value === "string" && (STREAM_STATUSES as readonly string[]).includes(value);
}

/** SSF §8.1.1 table: the fields only the Transmitter supplies (SPECS.md §5.5). */
export const TRANSMITTER_SUPPLIED = [
  "stream_id",
  "iss",
  "aud",
  "events_supported",
  "events_delivered",
  "min_verification_interval",
  "inactivity_timeout",
] as const;

export type SsfErrorCode = "invalid_request" | "invalid_token" | "not_found" | "conflict" | "method_not_allowed";

const STATUS_OF: Record<SsfErrorCode, number> = {
  invalid_request: 400,
  invalid_token: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
};

/** A request the transmitter refuses. `code` picks the HTTP status; `spec` names the rule. */
export class SsfRequestError extends Error {
  readonly status: number;
  constructor(
    readonly code: SsfErrorCode,
    message: string,
    readonly spec?: string,
  ) {
    super(message);
    this.name = "SsfRequestError";
    this.status = STATUS_OF[code];
  }
}

export const invalidRequest = (message: string, spec?: string) => new SsfRequestError("invalid_request", message, spec);

const MAX_EVENTS_REQUESTED = 100;
const MAX_TEXT = 1000;
/** Printable ASCII only: an Authorization header value must not smuggle CR/LF into the push request. */
const HEADER_VALUE = /^[\x20-\x7e]{1,4096}$/;

function parseEventsRequested(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.length > 0 && v.length <= MAX_TEXT)) {
    throw invalidRequest("events_requested must be an array of event type URIs", "SSF §8.1.1");
  }
  if (value.length > MAX_EVENTS_REQUESTED) throw invalidRequest("events_requested lists too many event types");
  return [...new Set(value as string[])];
}

/** events_delivered = events_requested ∩ events_supported, in the Receiver's order (SSF §8.1.1). */
function delivered(requested: readonly string[]): string[] {
  return requested.filter((type) => EVENTS_SUPPORTED.includes(type));
}

function parseDescription(value: unknown): string {
  if (typeof value !== "string" || value.length > MAX_TEXT) throw invalidRequest("description must be a string of at most 1000 characters");
  return value;
}

/**
 * SSF §8.1.1 `delivery`. No delivery at all means poll at the Transmitter's URL (§8.1.1.1, POLL-01).
 * Push URLs must name this machine literally: the demo's loopback-only fetch is the only way out.
 */
function parseDelivery(value: unknown, pollUrl: string): Delivery {
  if (value === undefined) return { method: POLL_METHOD, endpoint_url: pollUrl };
  if (!isPlainObject(value)) throw invalidRequest("delivery must be an object", "SSF §8.1.1");
  if (value.method === PUSH_METHOD) {
    const url = typeof value.endpoint_url === "string" ? URL.parse(value.endpoint_url) : null;
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hash) {
      throw invalidRequest("push delivery needs an absolute http(s) endpoint_url without a fragment", "RFC 8935 §2");
    }
    // DEMO ONLY: a real transmitter pushes to any https URL through an SSRF-guarded client.
    if (!isLoopbackUrl(url.href)) throw invalidRequest("the demo transmitter only pushes to localhost, 127.0.0.1 or [::1]");
    const auth = value.authorization_header;
    if (auth !== undefined && (typeof auth !== "string" || !HEADER_VALUE.test(auth))) {
      throw invalidRequest("authorization_header must be a printable ASCII string", "SSF §6.1.1");
    }
    return { method: PUSH_METHOD, endpoint_url: String(value.endpoint_url), ...(auth === undefined ? {} : { authorization_header: auth }) };
  }
  if (value.method === POLL_METHOD) {
    // SSF §6.1.2: the poll endpoint_url is Transmitter-supplied; a Receiver may only echo it back.
    if (value.endpoint_url !== undefined && value.endpoint_url !== pollUrl) {
      throw invalidRequest("the endpoint_url of a poll stream is supplied by the transmitter", "SSF §6.1.2");
    }
    return { method: POLL_METHOD, endpoint_url: pollUrl };
  }
  throw invalidRequest(`delivery.method must be ${PUSH_METHOD} or ${POLL_METHOD}`, "SSF §6.1");
}

/** Equal as configuration values: arrays of strings compare as sets, and a lone string equals a one-element array. */
function sameConfigValue(a: unknown, b: unknown): boolean {
  const normalize = (v: unknown) =>
    typeof v === "string" ? [v] : Array.isArray(v) && v.every((x) => typeof x === "string") ? [...new Set(v)].sort() : v;
  return canonicalJson(normalize(a)) === canonicalJson(normalize(b));
}

/** The stream identity the transmitter gives a new stream. */
export type NewStream = { streamId: string; iss: string; aud: string; pollUrl: string };

/** SSF §8.1.1.1 create. Transmitter-supplied fields are refused (400), events_requested is required. */
export function parseCreateRequest(body: unknown, stream: NewStream): StreamConfig {
  if (!isPlainObject(body)) throw invalidRequest("the request body must be a JSON object", "SSF §8.1.1.1");
  const supplied = TRANSMITTER_SUPPLIED.filter((field) => body[field] !== undefined);
  if (supplied.length) throw invalidRequest(`transmitter-supplied fields in a create request: ${supplied.join(", ")}`, "SSF §8.1.1.1");
  if (body.events_requested === undefined) throw invalidRequest("events_requested is required", "SSF §8.1.1.1");
  const requested = parseEventsRequested(body.events_requested);
  return {
    stream_id: stream.streamId,
    iss: stream.iss,
    aud: stream.aud,
    events_supported: [...EVENTS_SUPPORTED],
    events_requested: requested,
    events_delivered: delivered(requested),
    delivery: parseDelivery(body.delivery, stream.pollUrl),
    ...(body.description === undefined ? {} : { description: parseDescription(body.description) }),
  };
}

/**
 * SSF §8.1.1.3 update (PATCH: the Receiver-supplied fields present change, the others stay) and §8.1.1.4
 * replace (PUT: missing Receiver-supplied fields are deleted, so events_requested is required and a
 * missing delivery means poll). In both, Transmitter-supplied fields may be present only with their
 * current value.
 */
export function applyStreamUpdate(
  current: StreamConfig,
  body: Record<string, unknown>,
  mode: "update" | "replace",
  pollUrl: string,
): StreamConfig {
  const spec = mode === "update" ? "SSF §8.1.1.3" : "SSF §8.1.1.4";
  const currentValues: Record<string, unknown> = current;
  const mismatched = TRANSMITTER_SUPPLIED.filter(
    (field) => body[field] !== undefined && !sameConfigValue(body[field], currentValues[field]),
  );
  if (mismatched.length) throw invalidRequest(`transmitter-supplied fields that do not match the stream: ${mismatched.join(", ")}`, spec);

  if (mode === "replace") {
    if (body.events_requested === undefined) throw invalidRequest("a replace request must carry events_requested", spec);
    const requested = parseEventsRequested(body.events_requested);
    return {
      stream_id: current.stream_id,
      iss: current.iss,
      aud: current.aud,
      events_supported: current.events_supported,
      events_requested: requested,
      events_delivered: delivered(requested),
      delivery: parseDelivery(body.delivery, pollUrl),
      ...(body.description === undefined ? {} : { description: parseDescription(body.description) }),
    };
  }
  const next: StreamConfig = { ...current };
  if (body.events_requested !== undefined) {
    next.events_requested = parseEventsRequested(body.events_requested);
    next.events_delivered = delivered(next.events_requested);
  }
  if (body.delivery !== undefined) next.delivery = parseDelivery(body.delivery, pollUrl);
  if (body.description !== undefined) next.description = parseDescription(body.description);
  return next;
}

/** A copy safe to hand out, without undefined members. */
export function copyConfig(config: StreamConfig): StreamConfig {
  return JSON.parse(JSON.stringify(config)) as StreamConfig;
}
