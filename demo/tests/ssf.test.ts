// The demo IdP's Shared Signals transmitter: SSF 1.0 metadata (§7) and stream management (§8), SETs
// (RFC 8417, SSF §4), push (RFC 8935) and poll (RFC 8936) delivery, user events and the admin page.
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoUsers } from "../idp/users";
import { parseForm } from "../../tests/support/http-client";
import { closedPort, eventually, startSetReceiver, type ReceivedPush, type SetReceiver } from "./support";

const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC = "https://schemas.openid.net/secevent/risc/event-type/";
const SSF = "https://schemas.openid.net/secevent/ssf/event-type/";
const PUSH = "urn:ietf:rfc:8935";
const POLL = "urn:ietf:rfc:8936";
const SESSION_REVOKED = `${CAEP}session-revoked`;
const CREDENTIAL_CHANGE = `${CAEP}credential-change`;
const ACCOUNT_DISABLED = `${RISC}account-disabled`;
const ACCOUNT_ENABLED = `${RISC}account-enabled`;
const ACCOUNT_PURGED = `${RISC}account-purged`;
const VERIFICATION = `${SSF}verification`;
const STREAM_UPDATED = `${SSF}stream-updated`;
const USER_EVENT_TYPES = [SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED, ACCOUNT_ENABLED, ACCOUNT_PURGED];
const TRANSMITTER_SUPPLIED = [
  "stream_id",
  "iss",
  "aud",
  "events_supported",
  "events_delivered",
  "min_verification_interval",
  "inactivity_timeout",
];

const PUSH_TOKEN = "push-app-management-token";
const POLL_TOKEN = "poll-app-management-token";
const SPARE_TOKEN = "spare-app-management-token";
const PUSH_AUTHORIZATION = "Bearer receiver-secret-for-pushes";
const EVENTS_PATH = "/api/ssf/events";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bearer = (token: string) => `Bearer ${token}`;

type SetClaims = {
  jti: string;
  iss: string;
  aud: string;
  iat: number;
  txn: string;
  sub_id: Record<string, unknown>;
  events: Record<string, Record<string, unknown>>;
};
type Answer = { status: number; headers: Headers; text: string; json: unknown };

/** A SET's single event type, undecoded signature aside. */
const eventTypeOf = (token: string) => Object.keys((decodeJwt(token).events ?? {}) as object)[0];

describe("demo IdP SSF transmitter", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const bob = demoUsers.find((u) => u.username === "bob")!;
  let receiver: SetReceiver;
  let idp: RunningIdp;
  let pushApp: DemoClient;
  let pollApp: DemoClient;
  let spareApp: DemoClient;
  let pollAud: string;
  let spareAud: string;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  let rsaKid: string;
  let pushStreamId: string;
  let pollStreamId: string;

  async function call(authorization: string | undefined, method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${idp.issuer}${path}`, {
      method,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }
  const poll = (body: unknown, token = POLL_TOKEN, streamId = pollStreamId) => call(bearer(token), "POST", `/ssf/poll/${streamId}`, body);
  const setsOf = (answer: Answer) => (answer.json as { sets: Record<string, string> }).sets;

  /** SET-01..SET-09 as the conformance suite's transmitter tests check them; answers the claims. */
  async function verifySet(token: string, audience: string): Promise<SetClaims> {
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", kid: rsaKid, typ: "secevent+jwt" });
    const { payload } = await jwtVerify(token, jwks, {
      issuer: idp.issuer,
      audience,
      typ: "secevent+jwt",
      algorithms: ["RS256"],
      requiredClaims: ["jti", "iat", "txn", "sub_id", "events"],
    });
    // No `sub` and no `exp` (SSF §4.1.2, §4.1.7), exactly one event (SSF §4.2.1).
    expect(Object.keys(payload).sort()).toEqual(["aud", "events", "iat", "iss", "jti", "sub_id", "txn"]);
    expect(Object.keys(payload.events as object)).toHaveLength(1);
    expect(payload.aud).toBe(audience);
    expect(payload.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    return payload as unknown as SetClaims;
  }

  /** The pushes to the push app's events endpoint since index `from` that carry `type`. */
  const pushed = (type: string, from = 0): ReceivedPush[] =>
    receiver.received.slice(from).filter((p) => p.path === EVENTS_PATH && eventTypeOf(p.body) === type);
  const recordsOf = (jti: string) => idp.ssf.deliveries().filter((d) => d.jti === jti);

  beforeAll(async () => {
    receiver = await startSetReceiver();
    pollAud = `http://localhost:${await closedPort()}`;
    spareAud = `http://localhost:${await closedPort()}`;
    pushApp = {
      clientId: "push-app",
      clientSecret: "push-secret",
      appUrl: receiver.origin,
      name: "Push App",
      ssfManagementToken: PUSH_TOKEN,
    };
    pollApp = {
      clientId: "poll-app",
      clientSecret: "poll-secret",
      appUrl: `${pollAud}/poll`,
      name: "Poll App",
      ssfManagementToken: POLL_TOKEN,
    };
    spareApp = {
      clientId: "spare-app",
      clientSecret: "spare-secret",
      appUrl: spareAud,
      name: "Spare App",
      ssfManagementToken: SPARE_TOKEN,
    };
    const plainApp: DemoClient = { clientId: "plain-app", clientSecret: "plain-secret", appUrl: "http://localhost:9", name: "Plain App" };
    idp = await startIdp({ port: 0, clients: [pushApp, pollApp, spareApp, plainApp] });
    jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { keys } = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: { kty: string; kid: string }[] };
    rsaKid = keys.find((k) => k.kty === "RSA")!.kid;
  });

  afterAll(async () => {
    await idp?.close();
    await receiver?.close();
  });

  describe("metadata (SSF §7)", () => {
    it("publishes the transmitter configuration at the root well-known path, issuer exactly the IdP's (DISC-01, DISC-02)", async () => {
      const res = await fetch(`${idp.issuer}/.well-known/ssf-configuration`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({
        spec_version: "1_0",
        issuer: idp.issuer,
        jwks_uri: `${idp.issuer}/jwks`,
        delivery_methods_supported: [PUSH, POLL],
        configuration_endpoint: `${idp.issuer}/ssf/streams`,
        status_endpoint: `${idp.issuer}/ssf/status`,
        add_subject_endpoint: `${idp.issuer}/ssf/subjects:add`,
        remove_subject_endpoint: `${idp.issuer}/ssf/subjects:remove`,
        verification_endpoint: `${idp.issuer}/ssf/verify`,
        authorization_schemes: [{ spec_urn: "urn:ietf:rfc:6749" }],
        default_subjects: "ALL",
        critical_subject_members: ["user"],
      });
      expect(idp.issuer).toMatch(/^http:\/\/localhost:\d+$/);
      expect((await fetch(`${idp.issuer}/.well-known/ssf-configuration`, { method: "HEAD" })).status).toBe(200);
      const post = await fetch(`${idp.issuer}/.well-known/ssf-configuration`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
    });
  });

  describe("stream management (SSF §8)", () => {
    it("answers every management and poll call without a valid bearer token with 401 and a Bearer challenge", async () => {
      const calls: [string, string, unknown?][] = [
        ["GET", "/ssf/streams"],
        ["POST", "/ssf/streams", { events_requested: [SESSION_REVOKED] }],
        ["PATCH", "/ssf/streams", { stream_id: "x" }],
        ["PUT", "/ssf/streams", { stream_id: "x", events_requested: [] }],
        ["DELETE", "/ssf/streams?stream_id=x"],
        ["GET", "/ssf/status?stream_id=x"],
        ["POST", "/ssf/status", { stream_id: "x", status: "paused" }],
        ["POST", "/ssf/subjects:add", { stream_id: "x", subject: { format: "opaque", id: "x" } }],
        ["POST", "/ssf/subjects:remove", { stream_id: "x", subject: { format: "opaque", id: "x" } }],
        ["POST", "/ssf/verify", { stream_id: "x" }],
        ["POST", "/ssf/poll/x", {}],
      ];
      const credentials = [
        undefined,
        "Bearer wrong-token",
        `Basic ${Buffer.from(`push-app:${PUSH_TOKEN}`).toString("base64")}`,
        `${bearer(PUSH_TOKEN)} extra`,
        "Bearer",
        PUSH_TOKEN,
      ];
      for (const [method, path, body] of calls) {
        for (const authorization of credentials) {
          const res = await call(authorization, method, path, body);
          expect(res.status, `${method} ${path} with ${authorization}`).toBe(401);
          expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="ssf"/);
          expect(res.json).toMatchObject(path.startsWith("/ssf/poll/") ? { err: "invalid_token" } : { error: "invalid_token" });
        }
      }
      expect(idp.ssf.streams()).toEqual([]);
      expect((await call(bearer(PUSH_TOKEN), "GET", "/ssf/nothing-here")).status).toBe(404);
    });

    it("creates a push stream: 201, the transmitter-supplied fields, aud = the app's origin, events_delivered = requested ∩ supported", async () => {
      const request = {
        delivery: { method: PUSH, endpoint_url: `${receiver.origin}${EVENTS_PATH}`, authorization_header: PUSH_AUTHORIZATION },
        events_requested: [...USER_EVENT_TYPES, "urn:example:secevent:events:unknown"],
        description: "Lockstep push stream",
      };
      const res = await call(bearer(PUSH_TOKEN), "POST", "/ssf/streams", request);
      expect(res.status).toBe(201);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const config = res.json as { stream_id: string; events_supported: string[] };
      expect(config).toEqual({
        stream_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        iss: idp.issuer,
        aud: receiver.origin,
        events_supported: expect.arrayContaining([
          ...USER_EVENT_TYPES,
          VERIFICATION,
          STREAM_UPDATED,
          `${CAEP}token-claims-change`,
          `${RISC}sessions-revoked`,
        ]),
        events_requested: request.events_requested,
        events_delivered: USER_EVENT_TYPES,
        delivery: request.delivery,
        description: request.description,
      });
      // SSF + CAEP + RISC, as the conformance suite's transmitter supports them.
      expect(config.events_supported).toHaveLength(2 + 8 + 14);
      pushStreamId = config.stream_id;
      expect(idp.ssf.streams()).toEqual([res.json]);
    });

    it("answers a second create by the same receiver with 409, as the conformance suite's transmitter does", async () => {
      const res = await call(bearer(PUSH_TOKEN), "POST", "/ssf/streams", { events_requested: [SESSION_REVOKED] });
      expect(res.status).toBe(409);
      expect(res.json).toMatchObject({ error: "conflict" });
      expect(idp.ssf.streams()).toHaveLength(1);
    });

    it("refuses create requests with transmitter-supplied fields, without events_requested or with a bad delivery (400)", async () => {
      const valid = { events_requested: [SESSION_REVOKED], delivery: { method: PUSH, endpoint_url: `${receiver.origin}/spare` } };
      const bad: unknown[] = [
        ...TRANSMITTER_SUPPLIED.map((field) => ({ ...valid, [field]: field === "min_verification_interval" ? 30 : "x" })),
        { delivery: valid.delivery },
        { ...valid, events_requested: SESSION_REVOKED },
        { ...valid, events_requested: [1] },
        { ...valid, delivery: { method: PUSH } },
        { ...valid, delivery: { method: PUSH, endpoint_url: "/relative" } },
        { ...valid, delivery: { method: PUSH, endpoint_url: "https://receiver.example.com/events" } },
        { ...valid, delivery: { method: PUSH, endpoint_url: `${receiver.origin}/x`, authorization_header: "a\r\nx-injected: 1" } },
        { ...valid, delivery: { method: "urn:example:carrier-pigeon", endpoint_url: `${receiver.origin}/x` } },
        { ...valid, delivery: { method: POLL, endpoint_url: `${receiver.origin}/mine` } },
        { ...valid, description: 42 },
        "not json",
        [valid],
      ];
      for (const body of bad) {
        const res = await call(bearer(SPARE_TOKEN), "POST", "/ssf/streams", body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json).toMatchObject({ error: "invalid_request" });
      }
      expect((await call(bearer(SPARE_TOKEN), "GET", "/ssf/streams")).json).toEqual([]);
    });

    it("creates a poll stream when the request has no delivery, at the transmitter's endpoint_url (POLL-01)", async () => {
      const res = await call(bearer(POLL_TOKEN), "POST", "/ssf/streams", {
        events_requested: [SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED],
      });
      expect(res.status).toBe(201);
      const config = res.json as { stream_id: string };
      pollStreamId = config.stream_id;
      expect(config).toMatchObject({
        iss: idp.issuer,
        aud: pollAud,
        events_delivered: [SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED],
        delivery: { method: POLL, endpoint_url: `${idp.issuer}/ssf/poll/${pollStreamId}` },
      });
      expect(config).not.toHaveProperty("description");
    });

    it("reads a stream by stream_id and the receiver's list without it; unknown streams and other receivers' are 404", async () => {
      const one = await call(bearer(PUSH_TOKEN), "GET", `/ssf/streams?stream_id=${pushStreamId}`);
      expect(one.status).toBe(200);
      expect(one.json).toEqual(idp.ssf.streams().find((s) => s.stream_id === pushStreamId));
      const list = await call(bearer(PUSH_TOKEN), "GET", "/ssf/streams");
      expect(list.json).toEqual([one.json]);
      expect((await call(bearer(SPARE_TOKEN), "GET", "/ssf/streams")).json).toEqual([]);

      expect((await call(bearer(PUSH_TOKEN), "GET", "/ssf/streams?stream_id=no-such-stream")).status).toBe(404);
      const foreign = await call(bearer(POLL_TOKEN), "GET", `/ssf/streams?stream_id=${pushStreamId}`);
      expect(foreign.status).toBe(404);
      expect(foreign.json).toMatchObject({ error: "not_found" });
    });

    let spareStreamId: string;
    const spareDelivery = () => ({ method: PUSH, endpoint_url: `${receiver.origin}/spare` });

    it("updates with PATCH: present receiver fields change, missing ones stay, transmitter fields only when equal", async () => {
      const created = await call(bearer(SPARE_TOKEN), "POST", "/ssf/streams", {
        events_requested: [SESSION_REVOKED],
        delivery: spareDelivery(),
        description: "first",
      });
      expect(created.status).toBe(201);
      spareStreamId = (created.json as { stream_id: string }).stream_id;

      const described = await call(bearer(SPARE_TOKEN), "PATCH", "/ssf/streams", { stream_id: spareStreamId, description: "second" });
      expect(described.status).toBe(200);
      expect(described.json).toEqual({ ...(created.json as object), description: "second" });

      // Transmitter-supplied fields may come back, with their values (an array aud or reordered lists too).
      const echoed = await call(bearer(SPARE_TOKEN), "PATCH", "/ssf/streams", {
        stream_id: spareStreamId,
        iss: idp.issuer,
        aud: [spareAud],
        events_delivered: [SESSION_REVOKED],
        events_requested: [CREDENTIAL_CHANGE, SESSION_REVOKED, "urn:example:unknown"],
      });
      expect(echoed.status).toBe(200);
      expect(echoed.json).toMatchObject({
        events_requested: [CREDENTIAL_CHANGE, SESSION_REVOKED, "urn:example:unknown"],
        events_delivered: [CREDENTIAL_CHANGE, SESSION_REVOKED],
        description: "second",
        delivery: spareDelivery(),
      });

      for (const mismatch of [
        { aud: "https://evil.example" },
        { iss: "https://other.example" },
        { min_verification_interval: 10 },
        { events_delivered: [ACCOUNT_PURGED] },
      ]) {
        const res = await call(bearer(SPARE_TOKEN), "PATCH", "/ssf/streams", { stream_id: spareStreamId, ...mismatch });
        expect(res.status, JSON.stringify(mismatch)).toBe(400);
      }
      expect((await call(bearer(SPARE_TOKEN), "PATCH", "/ssf/streams", { description: "no id" })).status).toBe(400);
      expect((await call(bearer(SPARE_TOKEN), "PATCH", "/ssf/streams", { stream_id: "no-such-stream" })).status).toBe(404);
      expect((await call(bearer(SPARE_TOKEN), "PATCH", "/ssf/streams", { stream_id: pushStreamId, description: "not mine" })).status).toBe(
        404,
      );
      expect((await call(bearer(SPARE_TOKEN), "GET", `/ssf/streams?stream_id=${spareStreamId}`)).json).toEqual(echoed.json);
    });

    it("replaces with PUT: missing receiver fields are deleted (no delivery means poll), events_requested is required", async () => {
      const replaced = await call(bearer(SPARE_TOKEN), "PUT", "/ssf/streams", {
        stream_id: spareStreamId,
        events_requested: [ACCOUNT_PURGED],
      });
      expect(replaced.status).toBe(200);
      expect(replaced.json).toEqual({
        stream_id: spareStreamId,
        iss: idp.issuer,
        aud: spareAud,
        events_supported: expect.any(Array),
        events_requested: [ACCOUNT_PURGED],
        events_delivered: [ACCOUNT_PURGED],
        delivery: { method: POLL, endpoint_url: `${idp.issuer}/ssf/poll/${spareStreamId}` },
      });
      // The poll endpoint_url may be echoed back unchanged.
      const back = await call(bearer(SPARE_TOKEN), "PUT", "/ssf/streams", {
        ...(replaced.json as object),
        events_requested: [SESSION_REVOKED],
        delivery: spareDelivery(),
        description: "third",
      });
      expect(back.status).toBe(200);
      expect(back.json).toMatchObject({ events_delivered: [SESSION_REVOKED], delivery: spareDelivery(), description: "third" });

      expect((await call(bearer(SPARE_TOKEN), "PUT", "/ssf/streams", { stream_id: spareStreamId, delivery: spareDelivery() })).status).toBe(
        400,
      );
      expect(
        (await call(bearer(SPARE_TOKEN), "PUT", "/ssf/streams", { stream_id: spareStreamId, stream: "x", events_requested: [], aud: "x" }))
          .status,
      ).toBe(400);
      expect((await call(bearer(SPARE_TOKEN), "PUT", "/ssf/streams", { stream_id: "no-such-stream", events_requested: [] })).status).toBe(
        404,
      );
    });

    it("reads and updates the stream status; a status other than enabled, paused or disabled is 400", async () => {
      const read = await call(bearer(SPARE_TOKEN), "GET", `/ssf/status?stream_id=${spareStreamId}`);
      expect(read.status).toBe(200);
      expect(read.json).toEqual({ stream_id: spareStreamId, status: "enabled" });

      const paused = await call(bearer(SPARE_TOKEN), "POST", "/ssf/status", {
        stream_id: spareStreamId,
        status: "paused",
        reason: "Receiver maintenance",
      });
      expect(paused.status).toBe(200);
      expect(paused.json).toEqual({ stream_id: spareStreamId, status: "paused", reason: "Receiver maintenance" });
      expect((await call(bearer(SPARE_TOKEN), "GET", `/ssf/status?stream_id=${spareStreamId}`)).json).toEqual(paused.json);

      for (const body of [
        { stream_id: spareStreamId, status: "stopped" },
        { stream_id: spareStreamId },
        { stream_id: spareStreamId, status: "paused", reason: 7 },
        { status: "paused" },
      ]) {
        expect((await call(bearer(SPARE_TOKEN), "POST", "/ssf/status", body)).status, JSON.stringify(body)).toBe(400);
      }
      expect((await call(bearer(SPARE_TOKEN), "POST", "/ssf/status", { stream_id: "no-such-stream", status: "paused" })).status).toBe(404);
      expect((await call(bearer(SPARE_TOKEN), "GET", "/ssf/status")).status).toBe(400);
      expect((await call(bearer(SPARE_TOKEN), "GET", "/ssf/status?stream_id=no-such-stream")).status).toBe(404);
      expect((await call(bearer(SPARE_TOKEN), "GET", `/ssf/status?stream_id=${pushStreamId}`)).status).toBe(404);

      const enabled = await call(bearer(SPARE_TOKEN), "POST", "/ssf/status", { stream_id: spareStreamId, status: "enabled" });
      expect(enabled.json).toEqual({ stream_id: spareStreamId, status: "enabled" });
    });

    it("adds subjects (200, empty) and removes them (204); malformed requests are 400, unknown streams 404", async () => {
      const subject = { format: "email", email: "someone@example.com" };
      const added = await call(bearer(SPARE_TOKEN), "POST", "/ssf/subjects:add", { stream_id: spareStreamId, subject, verified: true });
      expect(added.status).toBe(200);
      expect(added.text).toBe("");
      const removed = await call(bearer(SPARE_TOKEN), "POST", "/ssf/subjects:remove", { stream_id: spareStreamId, subject });
      expect(removed.status).toBe(204);

      for (const path of ["/ssf/subjects:add", "/ssf/subjects:remove"]) {
        for (const body of [
          { stream_id: spareStreamId },
          { stream_id: spareStreamId, subject: { email: "x@example.com" } },
          { stream_id: spareStreamId, subject: "x" },
          { subject },
        ]) {
          expect((await call(bearer(SPARE_TOKEN), "POST", path, body)).status, `${path} ${JSON.stringify(body)}`).toBe(400);
        }
        expect((await call(bearer(SPARE_TOKEN), "POST", path, { stream_id: "no-such-stream", subject })).status).toBe(404);
      }
      expect(
        (await call(bearer(SPARE_TOKEN), "POST", "/ssf/subjects:add", { stream_id: spareStreamId, subject, verified: "yes" })).status,
      ).toBe(400);
    });

    it("deletes a stream (204), after which it is 404 and the receiver may create another", async () => {
      expect((await call(bearer(SPARE_TOKEN), "DELETE", "/ssf/streams")).status).toBe(400);
      expect((await call(bearer(SPARE_TOKEN), "DELETE", `/ssf/streams?stream_id=${pushStreamId}`)).status).toBe(404);
      const deleted = await call(bearer(SPARE_TOKEN), "DELETE", `/ssf/streams?stream_id=${spareStreamId}`);
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe("");
      expect((await call(bearer(SPARE_TOKEN), "GET", `/ssf/streams?stream_id=${spareStreamId}`)).status).toBe(404);
      expect((await call(bearer(SPARE_TOKEN), "DELETE", `/ssf/streams?stream_id=${spareStreamId}`)).status).toBe(404);
      expect((await call(bearer(SPARE_TOKEN), "GET", "/ssf/streams")).json).toEqual([]);

      const again = await call(bearer(SPARE_TOKEN), "POST", "/ssf/streams", {
        events_requested: [ACCOUNT_PURGED],
        delivery: spareDelivery(),
      });
      expect(again.status).toBe(201);
      expect((again.json as { stream_id: string }).stream_id).not.toBe(spareStreamId);
    });

    it("answers verify with 204, then pushes a Verification SET with the state echoed and sub_id = the stream (MGMT-01)", async () => {
      const from = receiver.received.length;
      const state = "VGhpcyBpcyBhbiBleGFtcGxlIHN0YXRlIHZhbHVlLgo=";
      const res = await call(bearer(PUSH_TOKEN), "POST", "/ssf/verify", { stream_id: pushStreamId, state });
      expect(res.status).toBe(204);
      expect(res.text).toBe("");

      const push = await eventually(() => pushed(VERIFICATION, from)[0], 3000, "the verification SET");
      // PUSH-01/PUSH-02: the stream's Authorization value, the SET media type, JSON for errors.
      expect(push.headers["content-type"]).toBe("application/secevent+jwt");
      expect(push.headers.accept).toBe("application/json");
      expect(push.headers.authorization).toBe(PUSH_AUTHORIZATION);
      const claims = await verifySet(push.body, receiver.origin);
      expect(claims.sub_id).toEqual({ format: "opaque", id: pushStreamId });
      expect(claims.events).toEqual({ [VERIFICATION]: { state } });
      const delivered = await eventually(() => recordsOf(claims.jti).find((r) => r.outcome === "delivered"));
      expect(delivered).toMatchObject({
        streamId: pushStreamId,
        method: "push",
        eventType: VERIFICATION,
        set: push.body,
        attempt: 1,
        status: 202,
      });

      // A transmitter-initiated verification carries no state.
      await idp.ssf.sendVerification(pushStreamId);
      const unsolicited = await eventually(() => pushed(VERIFICATION, from)[1], 3000, "the unsolicited verification SET");
      expect((await verifySet(unsolicited.body, receiver.origin)).events).toEqual({ [VERIFICATION]: {} });

      expect((await call(bearer(PUSH_TOKEN), "POST", "/ssf/verify", {})).status).toBe(400);
      expect((await call(bearer(PUSH_TOKEN), "POST", "/ssf/verify", { stream_id: pushStreamId, state: 1 })).status).toBe(400);
      expect((await call(bearer(PUSH_TOKEN), "POST", "/ssf/verify", { stream_id: "no-such-stream" })).status).toBe(404);
      expect((await call(bearer(PUSH_TOKEN), "POST", "/ssf/verify", { stream_id: pollStreamId })).status).toBe(404);
      const get = await call(bearer(PUSH_TOKEN), "GET", "/ssf/verify");
      expect(get.status).toBe(405);
      expect(get.headers.get("allow")).toBe("POST");
    });
  });

  describe("push delivery (RFC 8935)", () => {
    /** Emits an event whose opaque subject names the test, and answers the SET's first push. */
    async function emitTagged(tag: string): Promise<{ push: ReceivedPush; claims: SetClaims }> {
      const from = receiver.received.length;
      await idp.ssf.emit(SESSION_REVOKED, { format: "opaque", id: tag }, { event_timestamp: Math.floor(Date.now() / 1000) });
      const push = await eventually(() =>
        pushed(SESSION_REVOKED, from).find((p) => (decodeJwt(p.body).sub_id as { id?: string }).id === tag),
      );
      return { push, claims: await verifySet(push.body, receiver.origin) };
    }
    const pushesOf = (jti: string) => receiver.received.filter((p) => p.path === EVENTS_PATH && decodeJwt(p.body).jti === jti);

    it("retries 503s with backoff until the 202, recording every attempt", async () => {
      receiver.answer = (p) => {
        const tagged = p.path === EVENTS_PATH && (decodeJwt(p.body).sub_id as { id?: string }).id === "retry-503";
        return tagged && pushesOf(String(decodeJwt(p.body).jti)).length <= 2 ? { status: 503 } : { status: 202 };
      };
      try {
        const { claims } = await emitTagged("retry-503");
        await eventually(() => recordsOf(claims.jti).some((r) => r.outcome === "delivered"), 5000, "the third attempt");
        expect(
          recordsOf(claims.jti).map(({ attempt, status, outcome, method, eventType, streamId }) => ({
            attempt,
            status,
            outcome,
            method,
            eventType,
            streamId,
          })),
        ).toEqual([
          { attempt: 1, status: 503, outcome: "retrying", method: "push", eventType: SESSION_REVOKED, streamId: pushStreamId },
          { attempt: 2, status: 503, outcome: "retrying", method: "push", eventType: SESSION_REVOKED, streamId: pushStreamId },
          { attempt: 3, status: 202, outcome: "delivered", method: "push", eventType: SESSION_REVOKED, streamId: pushStreamId },
        ]);
        const attempts = pushesOf(claims.jti);
        expect(new Set(attempts.map((p) => p.body)).size).toBe(1);
        // Default backoff: 250 ms, then 500 ms (timers may fire a millisecond early).
        expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(240);
        expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(490);
      } finally {
        receiver.answer = () => ({ status: 202 });
      }
    });

    it("does not retry a 400, and records the receiver's err and description", async () => {
      receiver.answer = (p) =>
        p.path === EVENTS_PATH && (decodeJwt(p.body).sub_id as { id?: string }).id === "reject-400"
          ? { status: 400, body: JSON.stringify({ err: "invalid_audience", description: "not for us" }) }
          : { status: 202 };
      try {
        const { claims } = await emitTagged("reject-400");
        await eventually(() => recordsOf(claims.jti).length > 0);
        await sleep(600);
        expect(recordsOf(claims.jti)).toEqual([
          expect.objectContaining({ attempt: 1, status: 400, outcome: "rejected", err: "invalid_audience", description: "not for us" }),
        ]);
        expect(pushesOf(claims.jti)).toHaveLength(1);
      } finally {
        receiver.answer = () => ({ status: 202 });
      }
    });

    it("never makes the caller wait for the receiver", async () => {
      receiver.answer = () => ({ status: 202, delayMs: 1500 });
      try {
        const started = Date.now();
        await idp.ssf.emit(SESSION_REVOKED, { format: "opaque", id: "slow" }, {});
        expect(Date.now() - started).toBeLessThan(500);
        const push = await eventually(() => receiver.received.find((p) => (decodeJwt(p.body).sub_id as { id?: string }).id === "slow"));
        const jti = String(decodeJwt(push.body).jti);
        expect(recordsOf(jti)).toEqual([]);
        await eventually(() => recordsOf(jti).some((r) => r.outcome === "delivered"), 4000);
      } finally {
        receiver.answer = () => ({ status: 202 });
      }
    });

    it("holds SETs while paused and releases them when enabled; stream-updated goes before pausing and on enabling (SSF §8.1.2, §8.1.5)", async () => {
      const from = receiver.received.length;
      await idp.ssf.setStatus(pushStreamId, "paused", "Maintenance");
      const pausedNotice = await eventually(() => pushed(STREAM_UPDATED, from)[0], 3000, "the paused notice");
      const paused = await verifySet(pausedNotice.body, receiver.origin);
      expect(paused.sub_id).toEqual({ format: "opaque", id: pushStreamId });
      expect(paused.events).toEqual({ [STREAM_UPDATED]: { status: "paused", reason: "Maintenance" } });
      expect((await call(bearer(PUSH_TOKEN), "GET", `/ssf/status?stream_id=${pushStreamId}`)).json).toEqual({
        stream_id: pushStreamId,
        status: "paused",
        reason: "Maintenance",
      });

      await idp.ssf.emitForUser("bob", "credential-change");
      await sleep(300);
      expect(pushed(CREDENTIAL_CHANGE, from)).toEqual([]);

      await idp.ssf.setStatus(pushStreamId, "enabled");
      const released = await eventually(() => pushed(CREDENTIAL_CHANGE, from)[0], 3000, "the held SET");
      expect((await verifySet(released.body, receiver.origin)).sub_id).toEqual({ format: "iss_sub", iss: idp.issuer, sub: bob.sub });
      const enabledNotice = await eventually(() => pushed(STREAM_UPDATED, from)[1]);
      expect((await verifySet(enabledNotice.body, receiver.origin)).events).toEqual({ [STREAM_UPDATED]: { status: "enabled" } });
    });

    it("drops SETs while disabled; a receiver's own status change sends no stream-updated", async () => {
      const from = receiver.received.length;
      expect((await call(bearer(PUSH_TOKEN), "POST", "/ssf/status", { stream_id: pushStreamId, status: "disabled" })).status).toBe(200);
      await idp.ssf.emitForUser("bob", "account-disabled");
      expect((await call(bearer(PUSH_TOKEN), "POST", "/ssf/status", { stream_id: pushStreamId, status: "enabled" })).status).toBe(200);
      await sleep(300);
      expect(receiver.received.slice(from)).toEqual([]);
    });
  });

  describe("poll delivery (RFC 8936)", () => {
    /** Acknowledges everything the stream has, so that each test starts from an empty queue. */
    async function drain(): Promise<void> {
      for (let i = 0; i < 10; i++) {
        const sets = setsOf(await poll({ returnImmediately: true, maxEvents: 100 }));
        if (!Object.keys(sets).length) return;
        await poll({ ack: Object.keys(sets), maxEvents: 0 });
      }
      throw new Error("the poll queue did not drain");
    }

    it("queues SETs; maxEvents and moreAvailable page them; unacknowledged ones come again; acks remove them (POLL-02, POLL-03)", async () => {
      await drain();
      for (const kind of ["session-revoked", "credential-change", "account-disabled"] as const) await idp.ssf.emitForUser("alice", kind);

      const first = await poll({ maxEvents: 2, returnImmediately: true });
      expect(first.status).toBe(200);
      expect(first.headers.get("content-type")).toBe("application/json");
      expect((first.json as { moreAvailable: boolean }).moreAvailable).toBe(true);
      const firstJtis = Object.keys(setsOf(first));
      expect(firstJtis).toHaveLength(2);
      const types: string[] = [];
      for (const [jti, token] of Object.entries(setsOf(first))) {
        const claims = await verifySet(token, pollAud);
        expect(claims.jti).toBe(jti);
        expect(claims.sub_id).toEqual({ format: "iss_sub", iss: idp.issuer, sub: alice.sub });
        types.push(Object.keys(claims.events)[0]!);
      }
      expect(types).toEqual([SESSION_REVOKED, CREDENTIAL_CHANGE]);

      const again = await poll({ returnImmediately: true });
      expect((again.json as { moreAvailable: boolean }).moreAvailable).toBe(false);
      const allJtis = Object.keys(setsOf(again));
      expect(allJtis).toHaveLength(3);
      expect(allJtis.slice(0, 2)).toEqual(firstJtis);

      const ackOnly = await poll({ ack: firstJtis, maxEvents: 0 });
      expect(ackOnly.json).toEqual({ sets: {}, moreAvailable: true });
      const rest = await poll({ returnImmediately: true });
      expect(Object.keys(setsOf(rest))).toEqual([allJtis[2]]);
      expect(eventTypeOf(setsOf(rest)[allJtis[2]!]!)).toBe(ACCOUNT_DISABLED);

      for (const jti of firstJtis) {
        expect(recordsOf(jti).map((r) => [r.method, r.outcome, r.attempt])).toEqual([
          ["poll", "polled", 1],
          ["poll", "polled", 2],
          ["poll", "acknowledged", 2],
        ]);
      }
    });

    it("records setErrs and does not send those SETs again", async () => {
      const [jti] = Object.keys(setsOf(await poll({ returnImmediately: true })));
      expect(jti).toBeDefined();
      const answer = await poll({ setErrs: { [jti!]: { err: "invalid_request", description: "bad payload" } }, returnImmediately: true });
      expect(answer.json).toEqual({ sets: {}, moreAvailable: false });
      expect(recordsOf(jti!).at(-1)).toMatchObject({
        method: "poll",
        outcome: "rejected",
        err: "invalid_request",
        description: "bad payload",
        streamId: pollStreamId,
      });
      expect((await poll({ returnImmediately: true })).json).toEqual({ sets: {}, moreAvailable: false });
    });

    it("polls with one txn per emit shared across streams, and only streams that asked for the type get it", async () => {
      const from = receiver.received.length;
      await idp.ssf.emitForUser("alice", "session-revoked");
      const pushedSet = await verifySet((await eventually(() => pushed(SESSION_REVOKED, from)[0])).body, receiver.origin);
      const polledSets = Object.values(setsOf(await poll({ returnImmediately: true })));
      expect(polledSets).toHaveLength(1);
      const polledSet = await verifySet(polledSets[0]!, pollAud);
      expect(polledSet.txn).toBe(pushedSet.txn);
      expect(polledSet.jti).not.toBe(pushedSet.jti);
      await poll({ ack: [polledSet.jti], maxEvents: 0 });

      // The poll stream did not ask for account-enabled.
      await idp.ssf.emitForUser("alice", "account-enabled");
      await eventually(() => pushed(ACCOUNT_ENABLED, from)[0]);
      expect((await poll({ returnImmediately: true })).json).toEqual({ sets: {}, moreAvailable: false });
    });

    it("long-polls for at most 5 s, and answers as soon as a SET arrives", async () => {
      const started = Date.now();
      const empty = await poll({});
      const waited = Date.now() - started;
      expect(empty.json).toEqual({ sets: {}, moreAvailable: false });
      expect(waited).toBeGreaterThanOrEqual(4900);
      expect(waited).toBeLessThan(7000);

      const early = Date.now();
      const pending = poll({ maxEvents: 5 });
      await sleep(300);
      await idp.ssf.emitForUser("bob", "session-revoked");
      const answer = await pending;
      expect(Date.now() - early).toBeLessThan(2000);
      const sets = Object.values(setsOf(answer));
      expect(sets).toHaveLength(1);
      expect((await verifySet(sets[0]!, pollAud)).sub_id).toEqual({ format: "iss_sub", iss: idp.issuer, sub: bob.sub });
      await drain();
    }, 20_000);

    it("answers empty sets while paused or disabled, without waiting; enabling releases what paused held", async () => {
      await call(bearer(POLL_TOKEN), "POST", "/ssf/status", { stream_id: pollStreamId, status: "paused" });
      await idp.ssf.emitForUser("alice", "credential-change");
      const started = Date.now();
      expect((await poll({})).json).toEqual({ sets: {}, moreAvailable: false });
      expect(Date.now() - started).toBeLessThan(1000);

      await call(bearer(POLL_TOKEN), "POST", "/ssf/status", { stream_id: pollStreamId, status: "enabled" });
      const held = Object.values(setsOf(await poll({ returnImmediately: true })));
      expect(held.map(eventTypeOf)).toEqual([CREDENTIAL_CHANGE]);
      await drain();

      await call(bearer(POLL_TOKEN), "POST", "/ssf/status", { stream_id: pollStreamId, status: "disabled" });
      await idp.ssf.emitForUser("alice", "credential-change");
      expect((await poll({ returnImmediately: true })).json).toEqual({ sets: {}, moreAvailable: false });
      await call(bearer(POLL_TOKEN), "POST", "/ssf/status", { stream_id: pollStreamId, status: "enabled" });
      expect((await poll({ returnImmediately: true })).json).toEqual({ sets: {}, moreAvailable: false });
    });

    it("shows a paused poll stream only the transmitter's stream-updated notice, and on enabling it comes before the held SETs", async () => {
      await idp.ssf.setStatus(pollStreamId, "paused", "Demo pause");
      await idp.ssf.emitForUser("bob", "account-disabled");
      const notice = Object.values(setsOf(await poll({ returnImmediately: true })));
      expect(notice).toHaveLength(1);
      const paused = await verifySet(notice[0]!, pollAud);
      expect(paused.sub_id).toEqual({ format: "opaque", id: pollStreamId });
      expect(paused.events).toEqual({ [STREAM_UPDATED]: { status: "paused", reason: "Demo pause" } });
      await poll({ ack: [paused.jti], maxEvents: 0 });
      expect((await poll({ returnImmediately: true })).json).toEqual({ sets: {}, moreAvailable: false });

      await idp.ssf.setStatus(pollStreamId, "enabled");
      const released = Object.values(setsOf(await poll({ returnImmediately: true })));
      expect(released.map(eventTypeOf)).toEqual([STREAM_UPDATED, ACCOUNT_DISABLED]);
      expect((await verifySet(released[0]!, pollAud)).events).toEqual({ [STREAM_UPDATED]: { status: "enabled" } });
      await drain();
    });

    it("sends no events about a removed subject until it is added again (SSF §8.1.3)", async () => {
      const subject = { format: "iss_sub", iss: idp.issuer, sub: alice.sub };
      expect((await call(bearer(POLL_TOKEN), "POST", "/ssf/subjects:remove", { stream_id: pollStreamId, subject })).status).toBe(204);
      await idp.ssf.emitForUser("alice", "session-revoked");
      await idp.ssf.emitForUser("bob", "session-revoked");
      const onlyBob = Object.values(setsOf(await poll({ returnImmediately: true })));
      expect(await Promise.all(onlyBob.map(async (token) => (await verifySet(token, pollAud)).sub_id))).toEqual([
        { ...subject, sub: bob.sub },
      ]);
      await drain();

      expect((await call(bearer(POLL_TOKEN), "POST", "/ssf/subjects:add", { stream_id: pollStreamId, subject })).status).toBe(200);
      await idp.ssf.emitForUser("alice", "session-revoked");
      expect(Object.keys(setsOf(await poll({ returnImmediately: true })))).toHaveLength(1);
      await drain();
    });

    it("answers 401 without the receiver's token, 404 for unknown, foreign or push streams, 400 for malformed requests", async () => {
      const unauthenticated = await call(undefined, "POST", `/ssf/poll/${pollStreamId}`, {});
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.json).toMatchObject({ err: "invalid_token" });
      expect((await poll({}, PUSH_TOKEN)).status).toBe(404);
      expect((await poll({}, PUSH_TOKEN, pushStreamId)).status).toBe(404);
      expect((await poll({}, POLL_TOKEN, "no-such-stream")).status).toBe(404);
      for (const body of [
        { maxEvents: -1 },
        { maxEvents: "2" },
        { maxEvents: 1.5 },
        { returnImmediately: "yes" },
        { ack: "x" },
        { ack: [1] },
        { setErrs: { x: "bad" } },
        { setErrs: [] },
        "not json",
        [1],
      ]) {
        const res = await poll(body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json).toMatchObject({ err: "invalid_request" });
      }
      expect((await call(bearer(POLL_TOKEN), "GET", `/ssf/poll/${pollStreamId}`)).status).toBe(405);
    });
  });

  describe("user events", () => {
    const expected = (now: number): Record<string, [string, Record<string, unknown>]> => ({
      "session-revoked": [
        SESSION_REVOKED,
        { event_timestamp: now, initiating_entity: "admin", reason_admin: { en: "Ended by the demo admin" } },
      ],
      "credential-change": [
        CREDENTIAL_CHANGE,
        { credential_type: "password", change_type: "update", event_timestamp: now, initiating_entity: "user" },
      ],
      "account-disabled": [ACCOUNT_DISABLED, { reason: "hijacking" }],
      "account-enabled": [ACCOUNT_ENABLED, {}],
      "account-purged": [ACCOUNT_PURGED, {}],
    });

    it("emitForUser sends each kind with the user's iss_sub and the CAEP/RISC example payloads", async () => {
      for (const kind of ["session-revoked", "credential-change", "account-disabled", "account-enabled", "account-purged"] as const) {
        const from = receiver.received.length;
        const before = Math.floor(Date.now() / 1000);
        await idp.ssf.emitForUser("Alice ", kind);
        const [type, payload] = expected(before)[kind]!;
        const push = await eventually(() => pushed(type, from)[0], 3000, kind);
        const claims = await verifySet(push.body, receiver.origin);
        expect(claims.sub_id).toEqual({ format: "iss_sub", iss: idp.issuer, sub: alice.sub });
        const event = claims.events[type]!;
        if ("event_timestamp" in payload) {
          expect(event.event_timestamp).toBeGreaterThanOrEqual(before);
          expect(event.event_timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
          payload.event_timestamp = event.event_timestamp;
        }
        expect(claims.events).toEqual({ [type]: payload });
      }
      await drainPoll();
    });

    it("sends unsupported event types nowhere, and refuses unknown users, unknown streams and non-object subjects", async () => {
      const records = idp.ssf.deliveries().length;
      // The push stream requested this type, but it is not supported, so it is not in events_delivered.
      await idp.ssf.emit("urn:example:secevent:events:unknown", { format: "opaque", id: "x" }, {});
      expect((await poll({ returnImmediately: true })).json).toEqual({ sets: {}, moreAvailable: false });
      await sleep(100);
      expect(idp.ssf.deliveries()).toHaveLength(records);
      await expect(idp.ssf.emit(SESSION_REVOKED, [] as object, {})).rejects.toThrow("must be objects");
      await expect(idp.ssf.emitForUser("mallory", "session-revoked")).rejects.toThrow("no demo user");
      await expect(idp.ssf.sendVerification("no-such-stream")).rejects.toThrow("no stream");
      await expect(idp.ssf.setStatus("no-such-stream", "paused")).rejects.toThrow("no stream");
    });

    async function drainPoll(): Promise<void> {
      const sets = setsOf(await poll({ returnImmediately: true, maxEvents: 100 }));
      await poll({ ack: Object.keys(sets), maxEvents: 0 });
    }
  });

  describe("admin page", () => {
    const adminHtml = async () => (await fetch(`${idp.issuer}/admin`)).text();
    const postEvent = (fields: Record<string, string>, headers: Record<string, string> = { origin: idp.issuer }) =>
      fetch(`${idp.issuer}/admin/ssf-event`, { method: "POST", headers, body: new URLSearchParams(fields) });

    it("lists the streams and the latest deliveries, escaped", async () => {
      // A receiver-chosen URL and a receiver's error description are both shown; both are hostile here.
      const [spare] = (await call(bearer(SPARE_TOKEN), "GET", "/ssf/streams")).json as { stream_id: string }[];
      const hostileUrl = `${receiver.origin}/spare?x="><script>alert(1)</script>`;
      const patched = await call(bearer(SPARE_TOKEN), "PATCH", "/ssf/streams", {
        stream_id: spare!.stream_id,
        delivery: { method: PUSH, endpoint_url: hostileUrl },
      });
      expect(patched.status).toBe(200);
      receiver.answer = (p) =>
        p.path.startsWith("/spare")
          ? { status: 400, body: JSON.stringify({ err: "invalid_request", description: "<img src=x onerror=alert(1)>" }) }
          : { status: 202 };
      try {
        await idp.ssf.emit(ACCOUNT_PURGED, { format: "opaque", id: "admin-page" }, {});
        await eventually(() => idp.ssf.deliveries().some((d) => d.streamId === spare!.stream_id && d.outcome === "rejected"));
      } finally {
        receiver.answer = () => ({ status: 202 });
      }

      const html = await adminHtml();
      expect(html).not.toContain("<script>");
      expect(html).not.toContain("<img");
      expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
      expect(html).toContain(`<code>${receiver.origin}/spare?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</code>`);
      for (const id of [pushStreamId, pollStreamId, spare!.stream_id]) expect(html).toContain(`<code>${id}</code>`);
      expect(html).toContain(`<code>${pollAud}</code>`);
      expect(html).toContain(`poll<br><code>${idp.issuer}/ssf/poll/${pollStreamId}</code>`);
      expect(html).toContain(`push<br><code>${receiver.origin}${EVENTS_PATH}</code>`);
      expect(html).toContain("HTTP 400, rejected");
      expect(html).toContain("HTTP 202, delivered");
      const deliveryRows = html.slice(html.indexOf("Latest SET deliveries")).split("<tr").length - 2;
      expect(deliveryRows).toBe(20);
      // The end-sessions form stays the first form of the page.
      expect(parseForm(html)).toEqual({ action: "/admin/end-sessions", method: "POST", fields: { username: "alice" } });
      expect(html).toContain('<form method="post" action="/admin/ssf-event" class="ssf"><input type="hidden" name="username" value="bob">');
      for (const kind of ["session-revoked", "credential-change", "account-disabled", "account-enabled", "account-purged"]) {
        expect(html).toContain(`name="kind" value="${kind}"`);
      }
    });

    it("sends a user event from the page's form and shows the SETs it sent", async () => {
      const from = receiver.received.length;
      const res = await postEvent({ username: "bob", kind: "account-disabled" });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain("Shared Signals: Account disabled (hijacked) for bob");
      expect(html).toContain("Signed 2 SETs about <strong>bob</strong>.");
      expect(html).toContain(`<code>${pushStreamId}</code>`);
      expect(html).toContain(`<code>${pollStreamId}</code>`);
      expect(html).toContain(`&quot;sub&quot;: &quot;${bob.sub}&quot;`);
      expect(html).toContain("queued for the app&#39;s next poll");
      const push = await eventually(() => pushed(ACCOUNT_DISABLED, from)[0]);
      expect((await verifySet(push.body, receiver.origin)).sub_id).toEqual({ format: "iss_sub", iss: idp.issuer, sub: bob.sub });
    });

    it("refuses cross-site posts (403), unknown kinds and users (400) and other methods (405)", async () => {
      expect((await postEvent({ username: "bob", kind: "account-disabled" }, { origin: "http://evil.example" })).status).toBe(403);
      expect((await postEvent({ username: "bob", kind: "account-disabled" }, {})).status).toBe(403);
      expect((await postEvent({ username: "bob", kind: "password-stolen" })).status).toBe(400);
      expect((await postEvent({ username: "<mallory>", kind: "account-disabled" })).status).toBe(400);
      const get = await fetch(`${idp.issuer}/admin/ssf-event`);
      expect(get.status).toBe(405);
      expect(get.headers.get("allow")).toBe("POST");
    });
  });
});

describe("demo IdP SSF transmitter timings", () => {
  let receiver: SetReceiver;

  beforeAll(async () => {
    receiver = await startSetReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  async function startWith(pushRetryDelaysMs: number[], longPollMs: number): Promise<RunningIdp> {
    return startIdp({
      port: 0,
      clients: [
        { clientId: "push", clientSecret: "s1", appUrl: receiver.origin, name: "Push", ssfManagementToken: "push-token" },
        { clientId: "poll", clientSecret: "s2", appUrl: `${receiver.origin}/poll`, name: "Poll", ssfManagementToken: "poll-token" },
      ],
      ssf: { pushRetryDelaysMs, longPollMs },
    });
  }

  async function create(idp: RunningIdp, token: string, body: unknown): Promise<string> {
    const res = await fetch(`${idp.issuer}/ssf/streams`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { stream_id: string }).stream_id;
  }

  it("gives up after the last retry, for network errors and for 5xx", async () => {
    const idp = await startWith([10, 20], 300);
    try {
      const down = `http://localhost:${await closedPort()}/down`;
      const streamId = await create(idp, "push-token", {
        events_requested: [ACCOUNT_PURGED],
        delivery: { method: PUSH, endpoint_url: down },
      });
      await idp.ssf.emit(ACCOUNT_PURGED, { format: "opaque", id: "down" }, {});
      const records = await eventually(() => {
        const all = idp.ssf.deliveries();
        return all.some((r) => r.outcome === "failed") && all;
      });
      expect(records.map((r) => [r.attempt, r.status, r.outcome])).toEqual([
        [1, 0, "retrying"],
        [2, 0, "retrying"],
        [3, 0, "failed"],
      ]);
      expect(records[0]!.error).toEqual(expect.any(String));

      receiver.answer = () => ({ status: 503 });
      const patched = await fetch(`${idp.issuer}/ssf/streams`, {
        method: "PATCH",
        headers: { authorization: "Bearer push-token" },
        body: JSON.stringify({ stream_id: streamId, delivery: { method: PUSH, endpoint_url: `${receiver.origin}/busy` } }),
      });
      expect(patched.status).toBe(200);
      await idp.ssf.emit(ACCOUNT_PURGED, { format: "opaque", id: "busy" }, {});
      await eventually(() => idp.ssf.deliveries().filter((r) => r.outcome === "failed").length === 2);
      expect(
        idp.ssf
          .deliveries()
          .slice(3)
          .map((r) => [r.attempt, r.status, r.outcome]),
      ).toEqual([
        [1, 503, "retrying"],
        [2, 503, "retrying"],
        [3, 503, "failed"],
      ]);
      expect(receiver.received.filter((p) => p.path === "/busy")).toHaveLength(3);
    } finally {
      receiver.answer = () => ({ status: 202 });
      await idp.close();
    }
  });

  it("bounds the long poll by its setting", async () => {
    const idp = await startWith([10], 300);
    try {
      const streamId = await create(idp, "poll-token", { events_requested: [ACCOUNT_PURGED] });
      const started = Date.now();
      const res = await fetch(`${idp.issuer}/ssf/poll/${streamId}`, {
        method: "POST",
        headers: { authorization: "Bearer poll-token" },
        body: "{}",
      });
      expect(await res.json()).toEqual({ sets: {}, moreAvailable: false });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await idp.close();
    }
  });

  it("stops retrying and ends long polls when the IdP closes", async () => {
    const idp = await startWith([10_000], 10_000);
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 503 });
    try {
      await create(idp, "push-token", {
        events_requested: [ACCOUNT_PURGED],
        delivery: { method: PUSH, endpoint_url: `${receiver.origin}/closing` },
      });
      // The poll stream asks for another type, so its queue stays empty and the poll waits.
      const pollStream = await create(idp, "poll-token", { events_requested: [ACCOUNT_ENABLED] });
      await idp.ssf.emit(ACCOUNT_PURGED, { format: "opaque", id: "closing" }, {});
      await eventually(() => idp.ssf.deliveries().some((r) => r.outcome === "retrying"));
      const waiting = fetch(`${idp.issuer}/ssf/poll/${pollStream}`, {
        method: "POST",
        headers: { authorization: "Bearer poll-token" },
        body: "{}",
      }).then(
        (res) => res.status,
        () => 0,
      );
      await sleep(100);
      const started = Date.now();
      await idp.close();
      expect(Date.now() - started).toBeLessThan(1000);
      expect([0, 200]).toContain(await waiting);
      await sleep(100);
      expect(receiver.received.filter((p) => p.path === "/closing")).toHaveLength(1);
    } finally {
      receiver.answer = () => ({ status: 202 });
      await idp.close();
    }
  });
});
