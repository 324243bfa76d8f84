/**
 * Fuzz tier: the Shared Signals receiver (receiveSet) against mutated Security Event Tokens.
 *
 * Each input starts as a valid SET (RFC 8417, profiled by SSF 1.0 §4) whose event ends the one
 * live session (CAEP session-revoked or credential-change, RISC sessions-revoked; the subject by
 * sub_id or the legacy event `subject`), gets one mutation of its header, claims, signature or
 * encoding, classified when it is made (must be refused, must be accepted, or either), and runs
 * on fresh in-memory stores with a registered stream.
 *
 *   npx vitest run --project fuzz                    1,000 inputs (FUZZ_COUNT, default 1000)
 *   FUZZ_COUNT=10000 npx vitest run --project fuzz   the full run
 *   FUZZ_SEED=<n>                                    another sequence of inputs
 *   FUZZ_VERBOSE=1                                   every mutation with what the receiver answered
 *   FUZZ_STRICT=1                                    fail on known lib/ bugs too (KNOWN_BUGS, if any)
 *   FUZZ_CASE=<seed> npx vitest run --project fuzz tests/fuzz/ssf.test.ts   one input again, by the seed a failure names
 */
import { beforeAll, describe, expect, it } from "vitest";
import { receiveSet, type SsfReceiveDeps } from "@/lib/ssf/receive";
import { SetError } from "@/lib/ssf/errors";
import { buildPolicy } from "@/lib/ssf/policy";
import { CAEP_EVENTS, isKnownEventType, RISC_EVENTS, SSF_EVENTS } from "@/lib/ssf/events";
import { PUSH_METHOD, writeStoredStream } from "@/lib/ssf/streams";
import { memoryStores } from "@/lib/store/memory";
import type { SessionRecord } from "@/lib/session/record";
import type { SessionHandle } from "@/lib/session/handle";
import { describeFailures, details, errorName, fuzz, summary, type Case, type Effect, type Expect, type Verdict } from "./support/harness";
import { J, makeKeys, members, objectText, withMember, without, writtenByRefusal, type Keys, type Members } from "./support/jws";
import {
  anyFamilyCase,
  claimsEditor,
  commonClaimMutations,
  issue,
  jsonShapeMutations,
  nested,
  oddValues,
  UNICODE,
  type ClaimsMutation,
  type Profile,
  type Template,
} from "./support/mutations";
import type { Rng } from "./support/prng";

const NOW_S = 1_800_000_000;
const NOW_MS = NOW_S * 1000;
/** The OpenID Provider the session comes from (OIDC_ISSUER). */
const IDP = "https://idp.example.com";
/** The SSF Transmitter (SSF_ISSUER). */
const TRANSMITTER = "https://tr.example.com";
const AUDIENCE = "https://lockstep.example.com";
const STREAM_ID = "stream-1";
const LEEWAY = 60;
const MAX_AGE = 600;
const SESSION: SessionRecord = {
  iss: IDP,
  sub: "alice",
  sid: "sid-1",
  createdAt: NOW_MS - 60_000,
  expiresAt: NOW_MS + 3_600_000,
  claims: {},
  idToken: "header.payload.signature",
};
const STREAM = { config: { stream_id: STREAM_ID, iss: TRANSMITTER, aud: AUDIENCE, delivery: { method: PUSH_METHOD } }, status: "enabled" };

const aliceIssSub = { format: "iss_sub", iss: IDP, sub: "alice" };
const sid1 = { format: "opaque", id: "sid-1" };

let keys: Keys;
let profile: Profile;

beforeAll(() => {
  keys = makeKeys();
  profile = {
    keys,
    // SSF §4.1.1, RFC 8417 §2.3: typ is required and is secevent+jwt; media types compare case-insensitively, the prefix may be written out (RFC 7515 §4.1.9).
    typ: {
      accept: ["secevent+jwt", "SECEVENT+JWT", "application/secevent+jwt", "Application/SecEvent+JWT"],
      refuse: [
        undefined,
        "JWT",
        "jwt",
        "logout+jwt",
        "application/logout+jwt",
        "at+jwt",
        "application/jwt",
        "",
        "secevent",
        " secevent+jwt",
        "secevent+jwt ",
        "secevent+jws",
        1,
        null,
        ["secevent+jwt"],
        {},
      ],
      either: [],
    },
  };
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

type Shape = { name: string; eventType: string; event: Record<string, unknown>; subId?: Record<string, unknown> };

/** Valid SETs that each end the live session (SSF policy defaults). */
const SHAPES: Shape[] = [
  {
    name: "session-revoked, complex subject",
    eventType: CAEP_EVENTS.sessionRevoked,
    event: { event_timestamp: NOW_S - 10 },
    subId: { format: "complex", user: aliceIssSub, session: sid1 },
  },
  {
    name: "session-revoked, iss_sub",
    eventType: CAEP_EVENTS.sessionRevoked,
    event: { event_timestamp: NOW_S - 10, initiating_entity: "policy" },
    subId: aliceIssSub,
  },
  { name: "session-revoked, opaque sid", eventType: CAEP_EVENTS.sessionRevoked, event: {}, subId: sid1 },
  {
    name: "credential-change, iss_sub",
    eventType: CAEP_EVENTS.credentialChange,
    event: { credential_type: "password", change_type: "update", event_timestamp: NOW_S - 10 },
    subId: aliceIssSub,
  },
  {
    name: "RISC sessions-revoked, legacy subject",
    eventType: RISC_EVENTS.sessionsRevoked,
    event: { subject: { subject_type: "iss-sub", iss: IDP, sub: "alice" } },
  },
];

type SetTemplate = Template & { shape: Shape };

function template(rng: Rng): SetTemplate {
  const shape = rng.pick(SHAPES);
  const jti = rng.id("set");
  const claims: Record<string, unknown> = {
    iss: TRANSMITTER,
    aud: rng.pick<unknown>([AUDIENCE, AUDIENCE, [AUDIENCE], [AUDIENCE, "https://other-receiver.example"]]),
    iat: NOW_S - rng.int(0, 30),
    jti,
    events: { [shape.eventType]: shape.event },
  };
  if (shape.subId) claims.sub_id = shape.subId;
  if (rng.chance(0.3)) claims.txn = rng.id("txn");
  const header: Members = [
    ["alg", J("RS256")],
    ["kid", J("k1")],
    ["typ", J(rng.pick(["secevent+jwt", "secevent+jwt", "application/secevent+jwt"]))],
  ];
  return { header: rng.shuffle(header), claims: rng.shuffle(members(claims)), effect: "ends", jti, shape };
}

// ---------------------------------------------------------------- what the specs say of a claims set

type Judgement = { verdict: "valid" | "invalid" | "either"; effect: Effect };

function inWindow(t: number, lo: number, hi: number): boolean | "either" {
  if (t < lo - 1 || t > hi + 1) return false;
  if (Math.abs(t - lo) <= 1 || Math.abs(t - hi) <= 1) return "either";
  return true;
}

/**
 * RFC 8417 §2.2 and SSF 1.0 §3, §4, written from the specs rather than from lib/, for claims whose
 * subject is the template's (subject mutations say what they expect themselves).
 */
function judge(claims: unknown, shape: Shape): Judgement {
  if (!isObject(claims)) return { verdict: "invalid", effect: "any" };
  const has = (k: string) => Object.hasOwn(claims, k);
  const v: (boolean | "either")[] = [];
  // SSF §4.1.6: iss is the Transmitter's issuer, exactly. §4.1.8: aud includes the stream's audience (others may be there, RFC 8417 §2.2).
  v.push(claims.iss === TRANSMITTER);
  const aud = claims.aud;
  v.push(
    typeof aud === "string" ? aud === AUDIENCE : Array.isArray(aud) && aud.every((a) => typeof a === "string") && aud.includes(AUDIENCE),
  );
  // RFC 8417 §2.2: iat and jti REQUIRED.
  const iat = claims.iat;
  v.push(typeof iat === "number" && Number.isFinite(iat) ? inWindow(iat, NOW_S - MAX_AGE - LEEWAY, NOW_S + LEEWAY) : false);
  v.push(typeof claims.jti === "string" ? claims.jti.length > 0 || "either" : false);
  // SSF §4.1.2, §4.1.3, §4.1.7: no sub, no exp.
  v.push(!has("sub") && !has("exp"));
  // SSF §4.1.9 txn a string; RFC 8417 §2.2 toe a NumericDate.
  if (has("txn")) v.push(typeof claims.txn === "string");
  if (has("toe")) v.push(typeof claims.toe === "number" && Number.isFinite(claims.toe));
  // RFC 8417 §2.2 events; SSF §4.2.1: exactly one event, its value an object.
  const events = claims.events;
  let effect: Effect = "ends";
  if (!isObject(events) || Object.keys(events).length !== 1) v.push(false);
  else {
    const [type, event] = Object.entries(events)[0] as [string, unknown];
    if (!isObject(event)) v.push(false);
    else {
      // SSF §3.1: sub_id, or (legacy) the event's subject; here they must be the template's.
      const subject = has("sub_id") ? claims.sub_id : event.subject;
      const expected = shape.subId ?? shape.event.subject;
      v.push(J(subject) === J(expected) && (has("sub_id") ? shape.subId !== undefined : shape.subId === undefined));
      if (type === SSF_EVENTS.verification) v.push(false); // §8.1.4.1: the subject would have to be the stream.
      // SSF §4.2.3: an unknown event type is acknowledged and ignored; an event type is a URI (RFC 8417 §2.2).
      if (!URL.canParse(type)) v.push("either");
      effect = type === shape.eventType ? "ends" : isKnownEventType(type) ? "any" : "keeps";
      if (type === shape.eventType && J(event) !== J(shape.event)) effect = "any";
    }
  }
  const verdict = v.includes(false) ? "invalid" : v.includes("either") ? "either" : "valid";
  return { verdict, effect };
}

function classify(tpl: SetTemplate, m: ClaimsMutation): Case {
  let parsed: unknown;
  let parses = typeof m.payload === "string";
  try {
    parsed = typeof m.payload === "string" ? JSON.parse(m.payload) : undefined;
  } catch {
    parses = false;
  }
  const judged: Judgement = parses ? judge(parsed, tpl.shape) : { verdict: "invalid", effect: "any" };
  let expect: Expect = m.expect ?? (judged.verdict === "valid" ? "accept" : judged.verdict === "invalid" ? "refuse" : "either");
  // RFC 7519 §4: duplicate member names are refused, or the last one wins.
  if (m.duplicate && expect === "accept") expect = "either";
  return {
    family: "claims",
    name: m.name,
    raw: issue(profile, tpl.header, m.payload),
    expect,
    effect: m.effect ?? judged.effect,
    jti: tpl.jti,
  };
}

/** Subject mutations (SSF §3, RFC 9493 §3): each says what it expects, and what an accepted one does. */
function subjectMutation(rng: Rng, tpl: SetTemplate): ClaimsMutation {
  const m = tpl.claims;
  const legacy = tpl.shape.subId === undefined;
  const put = (subject: unknown) =>
    legacy
      ? objectText(withMember(m, "events", J({ [tpl.shape.eventType]: { ...tpl.shape.event, subject } })))
      : objectText(withMember(m, "sub_id", J(subject)));
  const original = (tpl.shape.subId ?? tpl.shape.event.subject) as Record<string, unknown>;
  const mk = (name: string, subject: unknown, expect: Expect, effect: Effect = "any"): ClaimsMutation => ({
    name: `subject: ${name}`,
    payload: put(subject),
    expect,
    effect,
  });
  const rest = Object.fromEntries(Object.entries(original).filter(([k]) => k !== "format" && k !== "subject_type"));
  const options: (() => ClaimsMutation)[] = [
    () => mk("format removed", rest, "refuse"),
    () => mk("format x-proprietary (unknown)", { ...rest, format: "x-proprietary" }, "accept", "keeps"),
    () => {
      const f = rng.pick<unknown>([1, null, true, [], {}, ""]);
      return mk(`format ${J(f)}`, { ...rest, format: f }, "refuse");
    },
    () => mk("not an object", rng.pick<unknown>(["alice", "sid-1", 1, null, [], [original], true]), "refuse"),
    () => mk("an extra member", { ...original, "x-extra": rng.pick<unknown>([1, "v", {}]) }, "either", "ends"),
    () => mk("iss_sub of another user", aliceLike("mallory"), "accept", "keeps"),
    () => mk("iss_sub of another issuer", { format: "iss_sub", iss: "https://other-idp.example.com", sub: "alice" }, "accept", "keeps"),
    () => {
      const [name, s] = rng.pick<[string, unknown]>([
        ['iss_sub with sub ""', { format: "iss_sub", iss: IDP, sub: "" }],
        ["iss_sub with sub 1", { format: "iss_sub", iss: IDP, sub: 1 }],
        ["iss_sub without sub", { format: "iss_sub", iss: IDP }],
        ["iss_sub without iss", { format: "iss_sub", sub: "alice" }],
        ["iss_sub with iss null", { format: "iss_sub", iss: null, sub: "alice" }],
        ['opaque with id ""', { format: "opaque", id: "" }],
        ["opaque with id 1", { format: "opaque", id: 1 }],
        ["opaque without id", { format: "opaque" }],
        ["email that is not an address", { format: "email", email: rng.pick(["alice", "@example.com", "alice@", "al ice@example.com"]) }],
        ["account without acct:", { format: "account", uri: "mailto:alice@example.com" }],
        ["complex without members", { format: "complex" }],
        ["complex nested in complex", { format: "complex", user: { format: "complex", user: aliceIssSub } }],
        ["complex with a member that is not an object", { format: "complex", user: "alice" }],
        ["aliases without identifiers", { format: "aliases", identifiers: [] }],
        ["aliases of aliases", { format: "aliases", identifiers: [{ format: "aliases", identifiers: [aliceIssSub] }] }],
        ["aliases with identifiers a string", { format: "aliases", identifiers: "alice" }],
      ]);
      return mk(name, s, "refuse");
    },
    () => mk("opaque of another sid", { format: "opaque", id: rng.pick(["sid-2", "SID-1", "sid-1 ", "sid-1\u0000"]) }, "accept", "keeps"),
    () => mk("email (no session has it)", { format: "email", email: "alice@example.com" }, "accept", "keeps"),
    () => mk("aliases of alice's iss_sub", { format: "aliases", identifiers: [aliceIssSub] }, "accept", "ends"),
    () => mk("aliases of an unknown format", { format: "aliases", identifiers: [{ format: "x-proprietary", id: "1" }] }, "accept", "keeps"),
    () => mk("complex with user only", { format: "complex", user: aliceIssSub }, "accept", "ends"),
    () => mk("complex with session only", { format: "complex", session: sid1 }, "accept", "ends"),
    () => mk("complex with another user", { format: "complex", user: aliceLike("mallory"), session: sid1 }, "accept", "keeps"),
    () =>
      mk(
        "complex with another session",
        { format: "complex", user: aliceIssSub, session: { format: "opaque", id: "sid-2" } },
        "accept",
        "keeps",
      ),
    () => mk("complex with a device only", { format: "complex", device: { format: "opaque", id: "device-1" } }, "accept", "keeps"),
    // SSF §3.6: a critical member (user and session here) in a format the Receiver cannot process: discarded, not acted on.
    () =>
      mk(
        "complex whose critical user has an unknown format",
        { format: "complex", user: { format: "x-proprietary", id: "u" }, session: sid1 },
        "refuse",
      ),
    () =>
      mk(
        "complex whose critical session has an unknown format",
        { format: "complex", user: aliceIssSub, session: { format: "x-session", id: "s" } },
        "refuse",
      ),
    () => {
      const n = rng.int(1_000, 60_000);
      return mk(`iss_sub with a ${n}-character sub`, aliceLike(rng.chars(n)), "accept", "keeps");
    },
    () => mk(`iss_sub with a unicode sub`, aliceLike(`alice${rng.pick(UNICODE)}`), "accept", "keeps"),
    () => {
      const depth = rng.int(10, 2_000);
      return {
        name: `subject: extra member nested ${depth} deep`,
        payload: put({ ...original, "x-nested": 0 }).replace('"x-nested":0', `"x-nested":${nested(depth, "object")}`),
        expect: "either",
        effect: "ends",
      };
    },
  ];
  // The legacy subject is read only when sub_id is absent; a sub_id beside it wins (SSF §3.1), and an ill-formed one is refused.
  if (legacy) {
    options.push(
      () => ({
        name: "subject: sub_id beside the legacy subject",
        payload: objectText([...m, ["sub_id", J(aliceIssSub)]]),
        expect: "accept",
        effect: "ends",
      }),
      () => ({
        name: "subject: ill-formed sub_id beside the legacy subject",
        payload: objectText([...m, ["sub_id", J({ format: "iss_sub", iss: IDP })]]),
        expect: "refuse",
      }),
      () => ({
        name: "subject: sub_id of another user beside the legacy subject",
        payload: objectText([...m, ["sub_id", J(aliceLike("mallory"))]]),
        expect: "accept",
        effect: "keeps",
      }),
    );
  }
  return rng.pick(options)();
}

const aliceLike = (sub: string) => ({ format: "iss_sub", iss: IDP, sub });

function claimsCase(rng: Rng, tpl: SetTemplate): Case {
  const m = tpl.claims;
  const { present, value, set, setRaw, short } = claimsEditor(m);
  const type = tpl.shape.eventType;
  const bad: Record<string, unknown> = {
    iss: "https://other-tr.example.com",
    aud: "https://other-receiver.example",
    iat: NOW_S + 10_000,
    jti: 5,
    sub_id: { format: "iss_sub" },
    events: {},
    txn: 5,
  };

  const ops: (() => ClaimsMutation)[] = [
    () => {
      const k = rng.pick(present);
      return { name: `${k} removed`, payload: objectText(without(m, k)) };
    },
    () => {
      const k = rng.pick([...present, "txn", "toe"]);
      const v = rng.pick(oddValues(value(k)));
      // A sub_id of another type is never the template's subject: refused (SSF §3.1).
      return { name: `${k} as ${short(v)}`, payload: set(k, v), ...(k === "sub_id" ? { expect: "refuse" as const } : {}) };
    },
    () => {
      const k = rng.pick(["iss", "aud", "jti", "txn", "toe"]);
      const pools: Record<string, unknown[]> = {
        iss: [
          `${TRANSMITTER}/`,
          TRANSMITTER.toUpperCase(),
          "http://tr.example.com",
          ` ${TRANSMITTER}`,
          IDP,
          "https://tr.example.com.attacker.example",
          "https://tг.example.com",
          "",
        ],
        aud: [
          "https://other-receiver.example",
          `${AUDIENCE}/`,
          AUDIENCE.toUpperCase(),
          ["https://other-receiver.example"],
          [],
          [AUDIENCE, 123],
          [AUDIENCE, null],
          [AUDIENCE],
          [AUDIENCE, AUDIENCE],
          { aud: AUDIENCE },
        ],
        jti: ["", " ", "\u0000", "😀", rng.id("other")],
        txn: ["", "t", 1, null, ["t"]],
        toe: [NOW_S - 10, NOW_S - 10.5, -1, 0, 1e300, `${NOW_S}`, null, []],
      };
      const v = rng.pick(pools[k] as unknown[]);
      return { name: `${k} ${short(v)}`, payload: set(k, v) };
    },
    () => {
      // SSF §4.1.2, §4.1.3, §4.1.7: a SET carries neither sub nor exp, whatever their value.
      const k = rng.pick(["sub", "exp"]);
      const v = rng.pick<unknown>(k === "sub" ? ["alice", "", null, {}, 1] : [NOW_S + 100, null, "x", 0, NOW_S - 100]);
      return { name: `${k} ${short(v)} added`, payload: objectText([...m, [k, J(v)]]) };
    },
    () => {
      const event = tpl.shape.event;
      const [name, events, effect] = rng.pick<[string, unknown, Effect?]>([
        ["events {}", {}],
        ["a second event", { [type]: event, [CAEP_EVENTS.tokenClaimsChange]: { claims: {} } }],
        ["the same event twice under two URIs", { [type]: event, [`${type}/`]: event }],
        ["event value []", { [type]: [] }],
        ['event value ""', { [type]: "" }],
        ["event value null", { [type]: null }],
        ["event value true", { [type]: true }],
        ["events an array", [{ [type]: event }]],
        ["events a string", type],
        ["unknown event type", { "https://example.com/event-type/unknown": event }, "keeps"],
        ["event type with a trailing slash", { [`${type}/`]: event }, "keeps"],
        ["event type in upper case", { [type.toUpperCase()]: event }, "keeps"],
        ["verification event type", { [SSF_EVENTS.verification]: event }],
        ["stream-updated event type", { [SSF_EVENTS.streamUpdated]: event }, "keeps"],
        ["event with extra members", { [type]: { ...event, reason_admin: { en: "x" }, "x-extra": [1, { a: null }] } }, "ends"],
      ]);
      return { name, payload: set("events", events), effect };
    },
    // The subject decides whose sessions end: three shares of the draw.
    () => subjectMutation(rng, tpl),
    () => subjectMutation(rng, tpl),
    () => subjectMutation(rng, tpl),
    () => {
      const n = rng.int(1_000, 65_000);
      return {
        name: `event with a ${n}-character member`,
        payload: set("events", { [type]: { ...tpl.shape.event, reason_user: { en: rng.chars(n) } } }),
        effect: "ends",
      };
    },
    () => {
      const depth = rng.int(10, 3_000);
      const kind = rng.pick(["array", "object"] as const);
      const event = J({ ...tpl.shape.event, "x-nested": 0 }).replace('"x-nested":0', `"x-nested":${nested(depth, kind)}`);
      return { name: `${kind} nested ${depth} deep in the event`, payload: setRaw("events", `{${J(type)}:${event}}`), effect: "ends" };
    },
    // RFC 8417 §2.2: iat is judged against now, with leeway. A nonce is a claim a SET need not know: the judge decides.
    ...commonClaimMutations(rng, m, {
      nowS: NOW_S,
      dates: { iat: [-662, -661, -660, -659, -658, 58, 59, 60, 61, 62] },
      nonces: ["n-0S6_WzA2Mj", "", null, 0],
      strings: ["jti", "txn", "iss"],
      bad,
    }),
    ...jsonShapeMutations(rng, m, {
      utf8Claims: ["jti", "x-bytes", "txn"],
      extraNames: ["sid", "acr", "nbf", "client_id"],
      foreign: { format: "iss_sub", iss: IDP, sub: "mallory" },
    }),
  ];
  return classify(tpl, rng.pick(ops)());
}

function generate(rng: Rng): Case {
  const tpl = template(rng);
  return anyFamilyCase(rng, tpl, profile, () => claimsCase(rng, tpl));
}

// ---------------------------------------------------------------- one input, on fresh stores

async function check(c: Case): Promise<Verdict> {
  const stores = memoryStores({ ttlSeconds: 86_400, now: () => NOW_MS });
  await writeStoredStream(stores.streams, STREAM);
  const streamBefore = await stores.streams.readStream();
  const id = await stores.sessions.create(SESSION);
  const handle: SessionHandle = { lsid: id, iss: SESSION.iss, sub: SESSION.sub, sid: SESSION.sid, createdAt: SESSION.createdAt };
  const deps: SsfReceiveDeps = {
    sessions: stores.sessions,
    revocations: stores.revocations,
    streams: stores.streams,
    now: () => NOW_MS,
    oidcIssuer: IDP,
    issuer: TRANSMITTER,
    algorithms: ["RS256"],
    leewaySeconds: LEEWAY,
    maxAgeSeconds: MAX_AGE,
    criticalSubjectMembers: ["user", "session"],
    getKey: c.keys === "with-weak-key" ? keys.getKeyWithWeak : keys.getKey,
    policy: buildPolicy({}),
  };

  let outcome: Awaited<ReturnType<typeof receiveSet>>;
  try {
    outcome = await receiveSet(c.raw, deps);
  } catch (error) {
    if (!(error instanceof SetError))
      return { refused: true, failure: `threw ${errorName(error)}, not a SetError (the route would answer 500)` };
    const code = error.discard ? `${error.code} (discarded)` : error.code;
    if (error.status !== 400)
      return {
        refused: true,
        code,
        failure: `refused with ${code}, status ${error.status}: with a healthy store and reachable keys only 400 (or a discard) is right`,
      };
    if (c.expect === "accept") return { refused: true, code, failure: `refused a SET that is still valid: ${code}` };

    // Nothing written: the session is on and unmarked, its record intact, no feed entry, no replay record, the account and the stream untouched.
    const problems = await writtenByRefusal(
      stores,
      { id, handle, record: SESSION, indexed: async () => (await stores.sessions.find({ iss: IDP, sub: "alice" })).length },
      { kind: "ssf", iss: TRANSMITTER, jti: c.jti, raw: c.raw },
    );
    if (await stores.sessions.isDisabled({ iss: IDP, sub: "alice" })) problems.push("the account is disabled");
    if ((await stores.streams.readStream()) !== streamBefore) problems.push("the stream state changed");
    return { refused: true, code, failure: problems.length ? `refused with ${code} but wrote: ${problems.join("; ")}` : undefined };
  }

  if (c.expect === "refuse")
    return {
      refused: false,
      failure: `accepted (result ${outcome.result}${outcome.outcome ? `, ${outcome.outcome.action}, ${outcome.outcome.sessionsEnded} ended` : ""})`,
    };
  // Accepted: remembered for de-duplication (RFC 8417 §2.2 jti), and the session ended exactly when the SET names it.
  const problems: string[] = [];
  if (!(await stores.revocations.seen({ kind: "ssf", iss: outcome.set.iss, jti: outcome.set.jti })))
    problems.push("no replay record for its (iss, jti)");
  const active = (await stores.revocations.check(handle)).active;
  const did = `result ${outcome.result}${outcome.outcome ? `, ${outcome.outcome.action}` : ""}`;
  if (c.effect === "ends" && active) problems.push(`the session it names is still active (${did})`);
  if (c.effect === "keeps" && !active) problems.push(`it ended a session it does not name (${did})`);
  return { refused: false, failure: problems.length ? `accepted, but ${problems.join("; ")}` : undefined };
}

describe("fuzz: mutated Security Event Tokens through receiveSet on the in-memory stores", () => {
  it("refuses (or, SSF §3.6, discards) every mutated SET that breaks a rule of RFC 8417 §2, SSF 1.0 §3 and §4 or of JWS (RFC 7515), writes nothing when it does, never answers 5xx, and acts only on SETs still valid", async () => {
    const report = await fuzz("shared signals", generate, check);
    console.log(summary(report));
    if (process.env.FUZZ_VERBOSE) console.log(details(report));
    expect(report.failures.length, describeFailures(report, "tests/fuzz/ssf.test.ts")).toBe(0);
  });
});
