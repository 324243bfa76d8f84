import type { Attributes } from "@opentelemetry/api";
import { errorType, instruments } from "./state";
import { instrumented, pick } from "./traced";

/**
 * The signal receivers' spans (`lockstep.signal <receiver>`) and the `lockstep.signals` counter. Each
 * receiver says what came of a signal in its own words: an outcome (`ok`, `rejected`, `ignored`,
 * `error`; for liveness checks `live`, `refused`, `unavailable`, `unusable`) and a code from its fixed
 * list (BCL and SET error codes, front-channel reasons, liveness codes). Never the token, the SET,
 * the sid, the subject or the session: only what kind of thing happened.
 */
export type Receiver = "backchannel_logout" | "frontchannel_logout" | "ssf_push" | "ssf_poll" | "rp_logout" | "liveness_check";

type Heard = { outcome: string; code?: string; error?: boolean; sessionsEnded?: number; extra?: Attributes };

const RECEIVER = "lockstep.signal.receiver";
const OUTCOME = "lockstep.signal.outcome";
const CODE = "lockstep.signal.code";
const METRIC_KEYS = [RECEIVER, OUTCOME, CODE];

/** A code as an attribute: the receivers' own codes are short snake_case words; anything else (an IdP's free text) is `other`. */
function codeOf(code: unknown): string | undefined {
  if (code === undefined) return undefined;
  return typeof code === "string" && /^[a-z0-9_]{1,48}$/.test(code) ? code : "other";
}

function attributesOf(heard: Heard): Attributes {
  const attributes: Attributes = { [OUTCOME]: heard.outcome, ...heard.extra };
  const code = codeOf(heard.code);
  if (code) attributes[CODE] = code;
  if (heard.sessionsEnded !== undefined) attributes["lockstep.signal.sessions_ended"] = heard.sessionsEnded;
  if (heard.error) attributes["error.type"] = code ?? "error";
  return attributes;
}

/** A thrown failure: 400-class refusals (LogoutTokenError, SetError) are `rejected`; anything else is ours, `error`. */
function thrown(error: unknown): Heard {
  const status = (error as { status?: unknown } | null)?.status;
  if (status === 400) return { outcome: "rejected", code: errorType(error) };
  return { outcome: "error", code: errorType(error), error: true };
}

/** `fn`, a receiver, inside a span `lockstep.signal <receiver>`, counted in `lockstep.signals`. */
function receiver<A extends unknown[], R>(
  name: Receiver | ((...args: A) => Receiver),
  fn: (...args: A) => Promise<R>,
  heard: (result: R) => Heard,
): (...args: A) => Promise<R> {
  const receiverOf = (...args: A) => (typeof name === "string" ? name : name(...args));
  return instrumented(fn, {
    name: (...args) => `lockstep.signal ${receiverOf(...args)}`,
    before: (...args) => ({ [RECEIVER]: receiverOf(...args) }),
    after: (result) => attributesOf(heard(result)),
    failed: (error) => attributesOf(thrown(error)),
    record: (attributes) => instruments().signals.add(1, pick(attributes, METRIC_KEYS)),
  });
}

/** Back-Channel Logout (lib/logout/backchannel handleLogoutToken): what the token did, or why it was refused. */
export function tracedBackchannel<A extends unknown[], R extends { result: string; sessionsEnded: number }>(
  fn: (...args: A) => Promise<R>,
) {
  return receiver("backchannel_logout", fn, (r) => ({ outcome: "ok", code: r.result, sessionsEnded: r.sessionsEnded }));
}

/** Front-Channel Logout (lib/logout/frontchannel receiveFrontchannelLogout): ended, or ignored and why. */
export function tracedFrontchannel<
  A extends unknown[],
  R extends { result: "ended"; sessionIds: string[] } | { result: "ignored"; code: string },
>(fn: (...args: A) => Promise<R>) {
  return receiver("frontchannel_logout", fn, (r) =>
    r.result === "ended" ? { outcome: "ok", code: "ended", sessionsEnded: r.sessionIds.length } : { outcome: "ignored", code: r.code },
  );
}

type HandledSet = { status: "accepted" } | { status: "rejected"; error: { code: string } } | { status: "unavailable" };

/** One SET, pushed or polled (lib/ssf handleSet(deps, raw, via)): accepted, rejected with its code, or not stored. */
export function tracedSet<A extends [deps: unknown, raw: string, via: "push" | "poll", ...rest: unknown[]], R extends HandledSet>(
  fn: (...args: A) => Promise<R>,
) {
  return receiver(
    (...args: A) => (args[2] === "poll" ? "ssf_poll" : "ssf_push"),
    fn,
    (r): Heard =>
      r.status === "accepted"
        ? { outcome: "ok" }
        : r.status === "rejected"
          ? { outcome: "rejected", code: r.error.code }
          : { outcome: "error", code: "store_unavailable", error: true },
  );
}

/** One poll of the transmitter (lib/ssf pollStream): a span `lockstep.ssf.poll` with its counts; each SET has its own span under it. */
export function tracedPoll<A extends unknown[], R extends { received: number; acknowledged: number; refused: number; rounds: number }>(
  fn: (...args: A) => Promise<R>,
) {
  return instrumented(fn, {
    name: "lockstep.ssf.poll",
    after: (r) => ({
      "lockstep.ssf.received": r.received,
      "lockstep.ssf.acknowledged": r.acknowledged,
      "lockstep.ssf.refused": r.refused,
      "lockstep.ssf.rounds": r.rounds,
    }),
  });
}

/** RP-initiated logout (POST /api/logout): its answer's status; what it ended is the `lockstep.end_sessions` span under it. */
export function tracedRpLogout<A extends unknown[]>(fn: (...args: A) => Promise<Response>) {
  return receiver("rp_logout", fn, (response) => ({
    outcome: response.status === 403 ? "rejected" : response.status >= 500 ? "error" : "ok",
    code: response.status === 403 ? "cross_site" : undefined,
    error: response.status >= 500,
    extra: { "http.response.status_code": response.status },
  }));
}

type CheckOutcome = { kind: string; method: string; code?: string };

/** A liveness check (lib/liveness/check.ts checkWith): live, refused, unavailable or unusable, by method. */
export function tracedLivenessCheck<A extends unknown[], R extends CheckOutcome>(fn: (...args: A) => Promise<R>) {
  return receiver("liveness_check", fn, (r) => ({
    outcome: r.kind,
    code: r.code,
    error: r.kind === "unavailable",
    extra: { "lockstep.liveness.method": r.method },
  }));
}
