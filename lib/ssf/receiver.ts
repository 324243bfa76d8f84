import { createHash } from "node:crypto";
import type { Config } from "@/lib/config";
import type { EndDeps } from "@/lib/revocation/end-sessions";
import type { Defer } from "@/lib/revocation/deferred";
import type { AccountStore, SessionStore, StreamStateStore } from "@/lib/store/ports";
import { hashId, securityLog } from "@/lib/log/security-log";
import { SetError } from "./errors";
import { buildPolicy, defaultPolicy, shortName } from "./policy";
import { receiveSet, type SsfOutcome, type SsfReceiveDeps } from "./receive";
import { POLL_METHOD, PUSH_METHOD, StreamManager, type StreamConfig } from "./streams";
import { getTransmitter, transmitterKeys } from "./transmitter-config";
import { subjectKey } from "./subject";
import { pollOnce } from "./poll";
import { tracedPoll, tracedSet } from "@/lib/telemetry/receivers";

/** What the Shared Signals receiver needs from the composition root; `defer` (a route's `after()`) runs clean-up after the answer. */
export type SsfDeps = { config: Config; ending: EndDeps; sessions: SessionStore & AccountStore; streams: StreamStateStore; defer?: Defer };

/** The SSF settings when SSF is on (SSF_ISSUER set; the schema then requires SSF_MANAGEMENT_TOKEN). */
export function ssfSettings(config: Config) {
  if (!config.SSF_ISSUER || !config.SSF_MANAGEMENT_TOKEN) return undefined;
  return { issuer: config.SSF_ISSUER, token: config.SSF_MANAGEMENT_TOKEN, delivery: config.SSF_DELIVERY };
}

export class SsfOffError extends Error {
  readonly code = "ssf_off";
  constructor() {
    super("Shared Signals is off: set SSF_ISSUER and SSF_MANAGEMENT_TOKEN.");
    this.name = "SsfOffError";
  }
}

export function streamManager(deps: SsfDeps): StreamManager {
  const settings = ssfSettings(deps.config);
  if (!settings) throw new SsfOffError();
  return new StreamManager({ issuer: settings.issuer, token: settings.token, state: deps.streams });
}

async function receiveDeps(deps: SsfDeps, issuer: string): Promise<SsfReceiveDeps> {
  const { config } = deps;
  const transmitter = await getTransmitter(issuer).catch(() => undefined);
  return {
    ...deps.ending,
    sessions: deps.sessions,
    defer: deps.defer,
    streams: deps.streams,
    oidcIssuer: config.OIDC_ISSUER,
    issuer,
    algorithms: config.SSF_ALGORITHMS,
    leewaySeconds: config.BCL_CLOCK_LEEWAY_SECONDS,
    maxAgeSeconds: config.SSF_MAX_SET_AGE_SECONDS,
    criticalSubjectMembers: transmitter?.critical_subject_members,
    getKey: transmitterKeys(issuer),
    policy: buildPolicy(config.SSF_POLICY),
  };
}

export type HandledSet = { status: "accepted" } | { status: "rejected"; error: SetError } | { status: "unavailable" };

/**
 * One SET, pushed or polled, with its security log line. Never throws. `receivedAt`: when a SET
 * handled late (queued while the store was down) arrived; its time checks are made as of then.
 */
async function handleSetUntraced(deps: SsfDeps, raw: string, via: "push" | "poll", receivedAt?: number): Promise<HandledSet> {
  const settings = ssfSettings(deps.config);
  if (!settings) return { status: "rejected", error: new SetError("access_denied") };
  let outcome: SsfOutcome;
  try {
    outcome = await receiveSet(raw, await receiveDeps(deps, settings.issuer), receivedAt);
  } catch (error) {
    if (error instanceof SetError) {
      securityLog({ event: "ssf.set", outcome: error.discard ? "ok" : "rejected", code: error.code, via });
      // SSF §3.6: a SET with an unprocessable critical subject member is acknowledged and not acted on.
      return error.discard ? { status: "accepted" } : error.status === 503 ? { status: "unavailable" } : { status: "rejected", error };
    }
    securityLog({ event: "ssf.set", outcome: "error", code: "store_unavailable", via });
    return { status: "unavailable" };
  }
  const { set } = outcome;
  securityLog({
    event: "ssf.set",
    outcome: "ok",
    code: outcome.result,
    via,
    type: shortName(set.eventType),
    action: outcome.outcome?.action,
    sessions_ended: outcome.outcome?.sessionsEnded,
    subject: subjectKey(set.subject),
    subject_hash: hashId(JSON.stringify(set.subject)),
    iss: set.iss,
    jti: set.jti,
    txn: set.txn,
  });
  return { status: "accepted" };
}

/**
 * A pushed SET that could not be stored (answered 503, so that the transmitter retries, RFC 8935
 * §2.3), queued as received on `deps.ending.pending`: handled again once the store answers, its time
 * checks as of its arrival; one that then fails validation is dropped and logged.
 */
export function queuePushedSet(deps: SsfDeps, raw: string): boolean {
  const receivedAt = deps.ending.now();
  return (
    deps.ending.pending?.add({
      key: `ssf ${createHash("sha256").update(raw).digest("base64url")}`,
      kind: "ssf_push",
      reason: "security_event",
      bytes: raw.length,
      apply: async () => {
        const handled = await handleSet({ ...deps, defer: undefined }, raw, "push", receivedAt);
        if (handled.status === "unavailable") throw new Error("store_unavailable");
        return handled.status === "rejected" ? { dropped: handled.error.code } : undefined;
      },
    }) ?? false
  );
}

export class NoPollStreamError extends Error {
  readonly code = "no_poll_stream";
  constructor() {
    super("No poll stream is registered: run `npm run ssf -- register` with SSF_DELIVERY=poll.");
    this.name = "NoPollStreamError";
  }
}

/** Polls the stream once (bounded), for `npm run ssf -- poll` and GET /api/ssf/poll. */
async function pollStreamUntraced(deps: SsfDeps) {
  const manager = streamManager(deps);
  const stream = await manager.stored();
  const endpoint = stream?.config.delivery.endpoint_url;
  if (!endpoint) throw new NoPollStreamError();
  return pollOnce({ endpoint, token: manager.token, handle: (raw) => handleSet(deps, raw, "poll") });
}

/**
 * Creates this app's stream (or takes over the existing one) with the events the policy acts on and
 * this app's delivery, then asks for verification. Verification and stream-updated events are
 * delivered anyway (SSF §8.1.4, §8.1.5), so they are not requested.
 */
export async function registerStream(deps: SsfDeps): Promise<StreamConfig> {
  const { config } = deps;
  const manager = streamManager(deps);
  const delivery =
    config.SSF_DELIVERY === "push"
      ? {
          method: PUSH_METHOD,
          endpoint_url: new URL("/api/ssf/events", config.AUTH_URL).toString(),
          authorization_header: config.SSF_PUSH_AUTHORIZATION,
        }
      : { method: POLL_METHOD };
  const stream = await manager.create({
    events_requested: Object.keys(defaultPolicy),
    delivery,
    description: `Lockstep (${config.APP_NAME})`,
  });
  await manager.verify();
  return stream;
}

/** handleSet and pollStream, in spans with their outcomes when an OpenTelemetry SDK runs (lib/telemetry/receivers.ts). */
export const handleSet = tracedSet(handleSetUntraced);
export const pollStream = tracedPoll(pollStreamUntraced);
