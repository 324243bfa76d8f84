import type { JWTVerifyGetKey } from "jose";
import { validateSet, type ValidSet } from "./validate";
import { SetError } from "./errors";
import { SSF_EVENTS } from "./events";
import { act, type ActDeps, type ActOutcome } from "./act";
import type { SsfAction } from "./policy";
import type { StoredStream } from "./streams";

export type SsfReceiveDeps = ActDeps & {
  /** SSF_ISSUER: the transmitter's issuer, which the stream's iss and every SET's iss must equal (SET-05). */
  issuer: string;
  algorithms: string[];
  leewaySeconds: number;
  maxAgeSeconds: number;
  criticalSubjectMembers?: string[];
  getKey: JWTVerifyGetKey;
  policy: (eventType: string) => SsfAction;
  stream: () => Promise<StoredStream | null>;
  saveStream: (stream: StoredStream) => Promise<void>;
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
 * (PUSH-07), then the verification and stream-updated events are handled here and every other
 * event goes through the policy table. The action runs before the jti is remembered, so a failure
 * part-way leaves the SET unacknowledged for the transmitter to retry; every action is idempotent.
 * Throws SetError (400, or 503 when the transmitter's keys cannot be had); Redis failures propagate.
 */
export async function receiveSet(raw: string, deps: SsfReceiveDeps): Promise<SsfOutcome> {
  const stream = await deps.stream();
  // No stream registered: nobody here asked for SETs (PUSH-03: "acceptable from this Transmitter").
  if (!stream) throw new SetError("access_denied");
  const nowSeconds = Math.floor(deps.now() / 1000);
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

  const jtiKey = deps.keys.ssfJti(set.iss, set.jti);
  if ((await deps.redis.exists(jtiKey)) === 1) return { set, result: "duplicate" };
  const remember = () => deps.redis.set(jtiKey, "1", { ex: jtiTtl(deps) });

  if (set.eventType === SSF_EVENTS.verification) {
    // MGMT-01: sub_id names the stream; a state must be the one we asked for; none means unsolicited.
    if (set.subject.format !== "opaque" || set.subject.id !== stream.config.stream_id) throw new SetError("invalid_verification_subject");
    const state = set.event.state;
    if (state !== undefined) {
      const expected = await deps.redis.get<string>(deps.keys.ssfVerification());
      if (typeof state !== "string" || state !== expected) throw new SetError("invalid_state");
      await deps.redis.del(deps.keys.ssfVerification());
    }
    await deps.saveStream({ ...stream, verifiedAt: deps.now() });
    await remember();
    return { set, result: "verified" };
  }
  if (set.eventType === SSF_EVENTS.streamUpdated) {
    // MGMT-02: keep the status we are told of (leniently: the conformance suite may send {}).
    if (typeof set.event.status === "string") await deps.saveStream({ ...stream, status: set.event.status });
    await remember();
    return { set, result: "stream_updated" };
  }

  const outcome = await act(deps.policy(set.eventType), set.eventType, set.event, set.subject, deps);
  await remember();
  return { set, result: "acted", outcome };
}
