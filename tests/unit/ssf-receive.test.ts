import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTVerifyGetKey } from "jose";
import { receiveSet, type SsfReceiveDeps } from "@/lib/ssf/receive";
import { SetError, type SetErrorCode } from "@/lib/ssf/errors";
import { buildPolicy } from "@/lib/ssf/policy";
import { CAEP_EVENTS, SSF_EVENTS } from "@/lib/ssf/events";
import { PUSH_METHOD, readStoredStream, writeStoredStream } from "@/lib/ssf/streams";
import { memoryStores } from "@/lib/store/memory";
import type { Stores } from "@/lib/store/ports";
import { signInTo } from "../support/sessions";

const NOW_MS = 1_800_000_000_000;
const IDP = "https://idp.example.com";
const TRANSMITTER = "https://tr.example.com";
const AUDIENCE = "https://lockstep.example.com";
const STREAM_ID = "stream-1";
const streamSubject = { format: "opaque", id: STREAM_ID };

let signingKey: CryptoKey;
let getKey: JWTVerifyGetKey;
let clock: number;
let stores: Stores;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  signingKey = pair.privateKey;
  getKey = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1" }] });
});

beforeEach(() => {
  clock = NOW_MS;
  stores = memoryStores({ ttlSeconds: 86_400, now: () => clock });
});

const registerStream = () =>
  writeStoredStream(stores.streams, {
    config: { stream_id: STREAM_ID, iss: TRANSMITTER, aud: AUDIENCE, delivery: { method: PUSH_METHOD } },
    status: "enabled",
  });

const deps = (): SsfReceiveDeps => ({
  sessions: stores.sessions,
  revocations: stores.revocations,
  streams: stores.streams,
  now: () => clock,
  oidcIssuer: IDP,
  issuer: TRANSMITTER,
  algorithms: ["ES256"],
  leewaySeconds: 60,
  maxAgeSeconds: 600,
  getKey,
  policy: buildPolicy({}),
});

let jtiCounter = 0;
function set(eventType: string, event: Record<string, unknown>, subject: Record<string, unknown> = streamSubject): Promise<string> {
  return new SignJWT({
    iss: TRANSMITTER,
    aud: AUDIENCE,
    iat: Math.floor(clock / 1000),
    jti: `set-${++jtiCounter}`,
    sub_id: subject,
    events: { [eventType]: event },
  })
    .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "secevent+jwt" })
    .sign(signingKey);
}

async function codeOf(promise: Promise<unknown>): Promise<SetErrorCode | "resolved"> {
  try {
    await promise;
    return "resolved";
  } catch (error) {
    if (error instanceof SetError) return error.code;
    throw error;
  }
}

describe("receiveSet: the stream and its management events (SSF 1.0 §8)", () => {
  it("asks the transmitter to retry while no stream is stored (never registered, or the store lost it), instead of dropping the SET (RFC 8935 §2.3)", async () => {
    expect(await codeOf(receiveSet(await set(SSF_EVENTS.verification, {}), deps()))).toBe("stream_not_registered");
    expect(new SetError("stream_not_registered").status).toBe(503);
    expect(await readStoredStream(stores.streams)).toBeNull();
  });

  it("takes a verification event carrying the state it asked for, once (SSF §8.1.4.1, §8.1.4.2)", async () => {
    await registerStream();
    await stores.streams.setVerificationState("state-1", 3600);

    const outcome = await receiveSet(await set(SSF_EVENTS.verification, { state: "state-1" }), deps());
    expect(outcome.result).toBe("verified");
    expect((await readStoredStream(stores.streams))?.verifiedAt).toBe(NOW_MS);

    // Another SET (new jti) with the same state: the state was good once.
    clock += 1_000;
    expect(await codeOf(receiveSet(await set(SSF_EVENTS.verification, { state: "state-1" }), deps()))).toBe("invalid_state");
    expect((await readStoredStream(stores.streams))?.verifiedAt).toBe(NOW_MS);
  });

  it("refuses a verification event whose state is not the one asked for (SSF §8.1.4.1 invalid_state)", async () => {
    await registerStream();
    await stores.streams.setVerificationState("state-1", 3600);

    expect(await codeOf(receiveSet(await set(SSF_EVENTS.verification, { state: "state-2" }), deps()))).toBe("invalid_state");
    expect((await readStoredStream(stores.streams))?.verifiedAt).toBeUndefined();
    // The wrong state did not use up the one asked for.
    expect((await receiveSet(await set(SSF_EVENTS.verification, { state: "state-1" }), deps())).result).toBe("verified");
  });

  it("refuses a verification event whose sub_id is not the stream's opaque id (SSF §8.1.4.1)", async () => {
    await registerStream();
    await stores.streams.setVerificationState("state-1", 3600);

    for (const subject of [
      { format: "opaque", id: "another-stream" },
      { format: "iss_sub", iss: TRANSMITTER, sub: STREAM_ID },
    ]) {
      expect(await codeOf(receiveSet(await set(SSF_EVENTS.verification, { state: "state-1" }, subject), deps()))).toBe(
        "invalid_verification_subject",
      );
    }
    expect((await readStoredStream(stores.streams))?.verifiedAt).toBeUndefined();
  });

  it("keeps the status a stream-updated event reports (SSF §8.1.5)", async () => {
    await registerStream();

    const outcome = await receiveSet(await set(SSF_EVENTS.streamUpdated, { status: "paused", reason: "maintenance" }), deps());
    expect(outcome.result).toBe("stream_updated");
    const stored = await readStoredStream(stores.streams);
    expect(stored?.status).toBe("paused");
    expect(stored?.config.stream_id).toBe(STREAM_ID);
  });
});

describe("receiveSet with a Defer (the push route's after())", () => {
  it("stores the revocation before answering and deletes the ended sessions' tokens after the answer (CAEP session-revoked)", async () => {
    await registerStream();
    const session = await signInTo(stores, IDP, NOW_MS);
    const tasks: { event: string; run: () => Promise<unknown> }[] = [];
    const withDefer: SsfReceiveDeps = { ...deps(), defer: (event, run) => void tasks.push({ event, run }) };

    const subject = { format: "iss_sub", iss: IDP, sub: "alice" };
    const outcome = await receiveSet(
      await set(CAEP_EVENTS.sessionRevoked, { event_timestamp: Math.floor(clock / 1000) }, subject),
      withDefer,
    );
    expect(outcome.result).toBe("acted");
    expect(await stores.revocations.check(session.handle)).toEqual({ active: false, reason: "security_event" });
    expect(await stores.sessions.read(session.id)).not.toBeNull();
    expect(tasks.map((t) => t.event)).toEqual(["sessions.cleanup"]);

    await tasks[0]!.run();
    expect(await stores.sessions.read(session.id)).toBeNull();
  });
});
