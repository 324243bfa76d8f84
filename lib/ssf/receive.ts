import type { JWTVerifyGetKey } from "jose";
import { validateSet, type ValidSet } from "./validate";
import { SetError } from "./errors";
import { SSF_EVENTS } from "./events";
import { act, isEndingAction, type ActDeps, type ActOutcome } from "./act";
import type { StreamStateStore } from "@/lib/store/ports";
import type { SsfAction } from "./policy";
import { readStoredStream, writeStoredStream } from "./streams";

export type SsfReceiveDeps = ActDeps & {
  /** SSF_ISSUER: the transmitter's issuer, which the stream's iss and every SET's iss must equal (SSF §4.1.6). */
  issuer: string;
  algorithms: string[];
  leewaySeconds: number;
  maxAgeSeconds: number;
  criticalSubjectMembers?: string[];
  getKey: JWTVerifyGetKey;
  policy: (eventType: string) => SsfAction;
  streams: StreamStateStore;
};

export type SsfOutcome = {
  set: ValidSet;
  result: "acted" | "duplicate" | "verified" | "stream_updated" | "discarded";
  outcome?: ActOutcome;
};

/** How long a SET's (iss, jti) is remembered: longer than it could be accepted (max age plus leeway). */
const jtiTtl = (deps: SsfReceiveDeps) => deps.maxAgeSeconds + deps.leewaySeconds + 60;

/**
 * One SET, pushed or polled: validated against this receiver's stream, de-duplicated on (iss, jti)
 * (RFC 8935 §2.1, RFC 8417 §2.2 jti), then the verification and stream-updated events are handled
 * here and every other event goes through the policy table.
 * Throws SetError (400, or 503 when the transmitter's keys cannot be had); store failures propagate.
 * `receivedAt` (ms): when the SET arrived, if it is being handled later (queued while the store was
 * down): its time checks (RFC 8417 §2.2 iat, the maximum age) are made as of then.
 */
export async function receiveSet(raw: string, deps: SsfReceiveDeps, receivedAt?: number): Promise<SsfOutcome> {
  const stream = await readStoredStream(deps.streams);
  // No stream stored though SSF is on: never registered, or the store lost it (a Redis without
  // persistence that restarted). Answer 503, so that the transmitter keeps the SET and retries until
  // the stream is registered again (`npm run ssf -- register`), rather than a 400 that drops it.
  if (!stream) throw new SetError("stream_not_registered");
  const nowSeconds = Math.floor((receivedAt ?? deps.now()) / 1000);
  const set = await validateSet(
    raw,
    {
      issuer: deps.issuer,
      audience: stream.config.aud,
      algorithms: deps.algorithms,
      leewaySeconds: deps.leewaySeconds,
      maxAgeSeconds: deps.maxAgeSeconds,
      criticalSubjectMembers: deps.criticalSubjectMembers,
    },
    deps.getKey,
    nowSeconds,
  );

  const replay = { kind: "ssf" as const, iss: set.iss, jti: set.jti, ttlSeconds: jtiTtl(deps) };
  const management = set.eventType === SSF_EVENTS.verification || set.eventType === SSF_EVENTS.streamUpdated;
  const action = deps.policy(set.eventType);
  const ending = !management && isEndingAction(action, set.eventType, set.event);

  // A SET whose action ends sessions is de-duplicated in the same atomic step that stores the
  // revocation (lib/revocation/end-sessions.ts). The others change nothing twice when done twice,
  // so they run first and the SET is remembered after: a failure part-way is retried.
  if (!ending && (await deps.revocations.seen(replay))) return { set, result: "duplicate" };

  if (set.eventType === SSF_EVENTS.verification) {
    // SSF §8.1.4.1: sub_id names the stream; a state must be the one we asked for; none means unsolicited.
    if (set.subject.format !== "opaque" || set.subject.id !== stream.config.stream_id) throw new SetError("invalid_verification_subject");
    const state = set.event.state;
    if (state !== undefined) {
      if (typeof state !== "string" || !(await deps.streams.useVerificationState(state))) throw new SetError("invalid_state");
    }
    await writeStoredStream(deps.streams, { ...stream, verifiedAt: deps.now() });
    await deps.revocations.remember(replay);
    return { set, result: "verified" };
  }
  if (set.eventType === SSF_EVENTS.streamUpdated) {
    // SSF §8.1.5: keep the status we are told of (leniently: the conformance suite may send {}).
    if (typeof set.event.status === "string") await writeStoredStream(deps.streams, { ...stream, status: set.event.status });
    await deps.revocations.remember(replay);
    return { set, result: "stream_updated" };
  }

  const outcome = await act(action, set.eventType, set.event, set.subject, deps, replay);
  if (outcome.replayed) return { set, result: "duplicate" };
  if (!ending) await deps.revocations.remember(replay);
  return { set, result: "acted", outcome };
}
