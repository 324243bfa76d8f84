/**
 * Fuzz tier: the Back-Channel Logout receiver (receiveLogoutToken) against mutated logout tokens.
 *
 * Each input starts as a valid logout token (BCL §2.4) and gets one mutation of its header, claims,
 * signature or encoding, classified when it is made: must be refused, must be accepted, or either
 * (where the specs let a receiver do both). It runs on fresh in-memory stores holding one live
 * session, the one the valid token names.
 *
 *   npx vitest run --project fuzz                    1,000 inputs (FUZZ_COUNT, default 1000)
 *   FUZZ_COUNT=10000 npx vitest run --project fuzz   the full run
 *   FUZZ_SEED=<n>                                    another sequence of inputs
 *   FUZZ_VERBOSE=1                                   every mutation with what the receiver answered
 *   FUZZ_STRICT=1                                    fail on the known lib/ bugs listed below too
 *   FUZZ_CASE=<seed> npx vitest run --project fuzz tests/fuzz/backchannel.test.ts   one input again, by the seed a failure names
 */
import { beforeAll, describe, expect, it } from "vitest";
import { receiveLogoutToken, type BackchannelDeps } from "@/lib/logout/backchannel/receive";
import { BACKCHANNEL_LOGOUT_EVENT } from "@/lib/logout/backchannel/validate";
import { LogoutTokenError } from "@/lib/logout/backchannel/errors";
import { memoryStores } from "@/lib/store/memory";
import type { SessionRecord } from "@/lib/session/record";
import type { SessionHandle } from "@/lib/session/handle";
import {
  describeFailures,
  details,
  errorName,
  fuzz,
  summary,
  type Case,
  type Effect,
  type Expect,
  type KnownBug,
  type Verdict,
} from "./support/harness";
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
  withBytes,
  type ClaimsMutation,
  type Profile,
  type Template,
} from "./support/mutations";
import { Rng } from "./support/prng";

const NOW_S = 1_800_000_000;
const NOW_MS = NOW_S * 1000;
const ISSUER = "https://idp.example.com";
const CLIENT = "lockstep-bank";
const LEEWAY = 60;
const MAX_AGE = 600;
const EVENT = BACKCHANNEL_LOGOUT_EVENT;
/** The live session: alice's, at ISSUER, holding IdP session sid-1. */
const SESSION: SessionRecord = {
  iss: ISSUER,
  sub: "alice",
  sid: "sid-1",
  createdAt: NOW_MS - 60_000,
  expiresAt: NOW_MS + 3_600_000,
  claims: {},
  idToken: "header.payload.signature",
  refreshToken: "rt-1",
  scope: "openid",
};

let keys: Keys;
let profile: Profile;

beforeAll(() => {
  keys = makeKeys();
  profile = {
    keys,
    // BCL §2.4, §4.1: typ is optional and names the logout token or a plain JWT; media types compare case-insensitively (RFC 7515 §4.1.9).
    typ: {
      accept: [undefined, "logout+jwt", "JWT", "jwt", "LOGOUT+JWT", "application/logout+jwt"],
      refuse: [
        "secevent+jwt",
        "application/secevent+jwt",
        "at+jwt",
        "id_token+jwt",
        "JOSE",
        "",
        " logout+jwt",
        "logout+jwt ",
        "logout",
        1,
        null,
        ["logout+jwt"],
        {},
      ],
      // The "application/" prefix may be written out (RFC 7515 §4.1.9); a receiver may still only list the short forms.
      either: ["application/jwt", "application/JWT"],
    },
  };
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A valid logout token: both sub and sid most often, sometimes one of them (BCL §2.4), members in any order. */
function template(rng: Rng): Template {
  const shape = rng.pick(["both", "both", "both", "sid", "sub"]);
  const jti = rng.id("jti");
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: rng.chance(0.2) ? [CLIENT] : CLIENT,
    iat: NOW_S - rng.int(0, 30),
    exp: NOW_S + rng.int(60, 300),
    jti,
    events: { [EVENT]: {} },
  };
  if (shape !== "sub") claims.sid = "sid-1";
  if (shape !== "sid") claims.sub = "alice";
  const typ = rng.pick(["logout+jwt", "logout+jwt", "JWT", undefined]);
  const header: Members = [
    ["alg", J("RS256")],
    ["kid", J("k1")],
  ];
  if (typ) header.push(["typ", J(typ)]);
  return { header: rng.shuffle(header), claims: rng.shuffle(members(claims)), effect: "ends", jti };
}

// ---------------------------------------------------------------- what the specs say of a claims set

type Judgement = "valid" | "invalid" | "either";

/** Within [lo, hi], with a second of slack either side of each bound (the bounds are this receiver's policy, not the spec's). */
function inWindow(t: number, lo: number, hi: number): boolean | "either" {
  if (t < lo - 1 || t > hi + 1) return false;
  if (Math.abs(t - lo) <= 1 || Math.abs(t - hi) <= 1) return "either";
  return true;
}

/**
 * BCL §2.4 and §2.6 (errata set 1), written from the spec rather than from lib/: would a receiver
 * with this client's registration have to accept these claims, refuse them, or may it do either?
 */
function judge(claims: unknown): Judgement {
  if (!isObject(claims)) return "invalid";
  const has = (k: string) => Object.hasOwn(claims, k);
  const verdicts: (boolean | "either")[] = [];
  // Step 4, as for ID tokens (Core §3.1.3.7): iss exactly; aud names this client, and no audience it does not trust.
  verdicts.push(claims.iss === ISSUER);
  const aud = claims.aud;
  verdicts.push(
    typeof aud === "string"
      ? aud === CLIENT
      : Array.isArray(aud) && aud.length > 0 && aud.every((a) => a === CLIENT)
        ? aud.length === 1 || "either"
        : false,
  );
  // Core §3.1.3.7: azp, when present, SHOULD be this client.
  if (has("azp")) verdicts.push(claims.azp === CLIENT || "either");
  // iat (REQUIRED) not too far from now; exp (REQUIRED since errata set 1) not passed, with leeway.
  const { iat, exp } = claims;
  verdicts.push(typeof iat === "number" && Number.isFinite(iat) ? inWindow(iat, NOW_S - MAX_AGE - LEEWAY, NOW_S + LEEWAY) : false);
  verdicts.push(typeof exp === "number" && Number.isFinite(exp) ? inWindow(exp, NOW_S - LEEWAY, Number.MAX_VALUE) : false);
  // jti REQUIRED: a string (an empty one is useless as a replay key).
  verdicts.push(typeof claims.jti === "string" ? claims.jti.length > 0 || "either" : false);
  // Step 5: sub or sid or both, each a string. Core §2 limits sub to 255 ASCII characters (the issuer's duty).
  if (!has("sub") && !has("sid")) verdicts.push(false);
  if (has("sub")) {
    const sub = claims.sub;
    verdicts.push(typeof sub === "string" ? (sub.length > 0 && sub.length <= 255 && /^[\x20-\x7e]*$/.test(sub)) || "either" : false);
  }
  if (has("sid")) verdicts.push(typeof claims.sid === "string" ? claims.sid.length > 0 || "either" : false);
  // Step 6: events holds the logout event, whose value is a JSON object; other members are not forbidden.
  const events = claims.events;
  verdicts.push(isObject(events) && Object.hasOwn(events, EVENT) && isObject(events[EVENT]));
  // Step 7: no nonce, whatever its value.
  verdicts.push(!has("nonce"));
  if (verdicts.includes(false)) return "invalid";
  return verdicts.includes("either") ? "either" : "valid";
}

/** What an accepted token does to the live session (BCL §2.7): a sid names one IdP session (if sub, only its own); sub alone, the sessions begun before iat. */
function effectOf(claims: unknown): Effect {
  if (!isObject(claims)) return "any";
  const { sub, sid, iat } = claims;
  if (typeof sid === "string") return sid === SESSION.sid && (sub === undefined || sub === SESSION.sub) ? "ends" : "keeps";
  if (typeof sub !== "string" || typeof iat !== "number") return "any";
  return sub === SESSION.sub && SESSION.createdAt < Math.min(NOW_MS, (iat + 1) * 1000) ? "ends" : "keeps";
}

function classify(tpl: Template, m: ClaimsMutation): Case {
  let parsed: unknown;
  let parses = typeof m.payload === "string";
  try {
    parsed = typeof m.payload === "string" ? JSON.parse(m.payload) : undefined;
  } catch {
    parses = false;
  }
  const judged = parses ? judge(parsed) : "invalid";
  let expect: Expect = m.expect ?? (judged === "valid" ? "accept" : judged === "invalid" ? "refuse" : "either");
  // RFC 7519 §4, RFC 7515 §5.2: duplicate member names are refused, or the last one wins.
  if (m.duplicate && expect === "accept") expect = "either";
  return {
    family: "claims",
    name: m.name,
    raw: issue(profile, tpl.header, m.payload),
    expect,
    effect: parses ? effectOf(parsed) : "any",
    jti: tpl.jti,
  };
}

function claimsCase(rng: Rng, tpl: Template): Case {
  const m = tpl.claims;
  const { present, value, set, setRaw, short } = claimsEditor(m);
  const bad: Record<string, unknown> = {
    iss: "https://other-idp.example.com",
    aud: "other-client",
    iat: NOW_S + 10_000,
    exp: NOW_S - 10_000,
    jti: 5,
    sub: 5,
    sid: 5,
    events: {},
  };

  const ops: (() => ClaimsMutation)[] = [
    () => {
      const k = rng.pick(present);
      return { name: `${k} removed`, payload: objectText(without(m, k)) };
    },
    () => ({ name: "sub and sid removed", payload: objectText(without(without(m, "sub"), "sid")) }),
    () => {
      const k = rng.pick([...present, "azp"]);
      const v = rng.pick(oddValues(value(k)));
      return { name: `${k} as ${short(v)}`, payload: set(k, v) };
    },
    () => {
      const k = rng.pick(["iss", "aud", "azp", "jti", "events"]);
      const pools: Record<string, unknown[]> = {
        iss: [
          `${ISSUER}/`,
          ISSUER.toUpperCase(),
          "http://idp.example.com",
          ` ${ISSUER}`,
          `${ISSUER}\u0000`,
          "https://idp.example.com.attacker.example",
          "https://other-idp.example.com",
          "https://іdp.example.com",
          "",
        ],
        aud: [
          "other-client",
          CLIENT.toUpperCase(),
          `${CLIENT} `,
          [CLIENT, "other-client"],
          ["other-client"],
          [CLIENT, CLIENT],
          [],
          [CLIENT],
          [CLIENT, null],
        ],
        azp: [CLIENT, "other-client", ""],
        jti: ["", " ", "\u0000", "😀", rng.id("other")],
        events: [
          { [EVENT]: {}, "https://schemas.openid.net/secevent/caep/event-type/session-revoked": {} },
          { [EVENT]: { reason: "user", nested: { a: [1, 2] } } },
          { [`${EVENT}/`]: {} },
          { [EVENT.replace("http:", "https:")]: {} },
          { [EVENT.toUpperCase()]: {} },
          {},
          { "https://example.com/other-event": {} },
          { [EVENT]: [] },
          { [EVENT]: "" },
          { [EVENT]: null },
          { [EVENT]: true },
          { [EVENT]: 0 },
          [{ [EVENT]: {} }],
          EVENT,
          null,
        ],
      };
      const v = rng.pick(pools[k] as unknown[]);
      return { name: `${k} ${short(v)}`, payload: set(k, v) };
    },
    () => {
      // BCL §2.7: which sessions a (sub, sid) pair names.
      const sub = rng.pick<string | undefined>([
        undefined,
        "alice",
        "alice",
        "mallory",
        "Alice",
        "alice ",
        "аlice",
        "",
        "alice\u0000",
        "a".repeat(rng.int(256, 5000)),
      ]);
      const sid = rng.pick<string | undefined>([
        undefined,
        "sid-1",
        "sid-1",
        "sid-2",
        "SID-1",
        "sid-1 ",
        "",
        "sid-1\u0000",
        "s".repeat(rng.int(256, 5000)),
      ]);
      const base = without(without(m, "sub"), "sid");
      const next: Members = [...base];
      if (sub !== undefined) next.push(["sub", J(sub)]);
      if (sid !== undefined) next.push(["sid", J(sid)]);
      return { name: `sub ${short(sub)}, sid ${short(sid)}`, payload: objectText(rng.shuffle(next)) };
    },
    () => {
      const n = rng.int(1_000, 65_000);
      return { name: `logout event with a ${n}-character member`, payload: set("events", { [EVENT]: { big: rng.chars(n) } }) };
    },
    () => {
      const u = rng.pick(UNICODE);
      return { name: `unicode ${J(u)} in the logout event`, payload: set("events", { [EVENT]: { [u]: u } }) };
    },
    () => {
      const depth = rng.int(10, 3_000);
      const kind = rng.pick(["array", "object"] as const);
      if (rng.chance(0.5))
        return {
          name: `${kind} nested ${depth} deep in the logout event`,
          payload: setRaw("events", `{${J(EVENT)}:{"n":${nested(depth, kind)}}}`),
        };
      return {
        name: "events moved inside another claim",
        payload: objectText([...without(m, "events"), ["wrapper", `{"events":${J(value("events"))}}`]]),
      };
    },
    // BCL §2.6 step 4 judges iat and exp against now, with leeway; step 7 refuses any nonce.
    ...commonClaimMutations(rng, m, {
      nowS: NOW_S,
      dates: { iat: [-662, -661, -660, -659, -658, 58, 59, 60, 61, 62], exp: [-62, -61, -60, -59, -58] },
      nonces: ["n-0S6_WzA2Mj", "", null, 0, false, {}, []],
      strings: ["jti", "sub", "sid", "iss"],
      bad,
    }),
    ...jsonShapeMutations(rng, m, {
      utf8Claims: ["jti", "x-bytes"],
      extraNames: ["sub_id", "txn", "toe", "acr", "amr", "auth_time"],
      foreign: { iss: "https://other-idp.example.com", sub: "mallory" },
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
  const id = await stores.sessions.create(SESSION);
  const handle: SessionHandle = { lsid: id, iss: SESSION.iss, sub: SESSION.sub, sid: SESSION.sid, createdAt: SESSION.createdAt };
  const revokedAtIdp: string[] = [];
  const deps: BackchannelDeps = {
    sessions: stores.sessions,
    revocations: stores.revocations,
    now: () => NOW_MS,
    policy: {
      issuer: ISSUER,
      clientId: CLIENT,
      expectedAlg: "RS256",
      sessionRequired: false,
      leewaySeconds: LEEWAY,
      maxAgeSeconds: MAX_AGE,
    },
    getKey: c.keys === "with-weak-key" ? keys.getKeyWithWeak : keys.getKey,
    revokeRefreshToken: async (token) => {
      revokedAtIdp.push(token);
      return true;
    },
  };

  let outcome: Awaited<ReturnType<typeof receiveLogoutToken>>;
  try {
    outcome = await receiveLogoutToken(c.raw, deps);
  } catch (error) {
    if (!(error instanceof LogoutTokenError))
      return { refused: true, failure: `threw ${errorName(error)}, not a LogoutTokenError (the route would answer 500)` };
    const code = error.code;
    if (error.status !== 400)
      return {
        refused: true,
        code,
        failure: `refused with ${code}, status ${error.status}: with a healthy store and reachable keys only 400 is right`,
      };
    if (c.expect === "accept") return { refused: true, code, failure: `refused a token that is still valid: ${code}` };

    // Nothing written: the session is on, its record intact, no feed entry, no replay record, nothing revoked at the IdP.
    const problems = await writtenByRefusal(
      stores,
      { id, handle, record: SESSION, indexed: async () => (await stores.sessions.find({ iss: ISSUER, sid: "sid-1" })).length },
      { kind: "bcl", iss: ISSUER, jti: c.jti, raw: c.raw },
    );
    if (revokedAtIdp.length > 0) problems.push(`refresh tokens revoked at the IdP: ${revokedAtIdp.join(", ")}`);
    return { refused: true, code, failure: problems.length ? `refused with ${code} but wrote: ${problems.join("; ")}` : undefined };
  }

  if (c.expect === "refuse")
    return { refused: false, failure: `accepted (result ${outcome.result}, ${outcome.sessionsEnded} sessions ended)` };
  // Accepted: it was remembered (BCL §2.6 jti), and the session ended exactly when the token names it.
  const problems: string[] = [];
  if (!(await stores.revocations.seen({ kind: "bcl", iss: outcome.token.iss, jti: outcome.token.jti })))
    problems.push("no replay record for its (iss, jti)");
  const active = (await stores.revocations.check(handle)).active;
  if (c.effect === "ends" && active) problems.push(`the session it names is still active (result ${outcome.result})`);
  if (c.effect === "keeps" && !active) problems.push(`it ended a session it does not name (result ${outcome.result})`);
  return { refused: false, failure: problems.length ? `accepted, but ${problems.join("; ")}` : undefined };
}

/** Bugs this tier found are fixed in lib/ and replayed below; a new one goes here until it is fixed. */
const KNOWN_BUGS: KnownBug[] = [];

describe("fuzz: mutated logout tokens through receiveLogoutToken on the in-memory stores", () => {
  it("refuses every mutated logout token that breaks a rule of BCL §2.4 and §2.6 or of JWS (RFC 7515), writes nothing when it refuses, never answers 5xx, and acts only on tokens still valid", async () => {
    const report = await fuzz("back-channel logout", generate, check, KNOWN_BUGS);
    console.log(summary(report));
    if (process.env.FUZZ_VERBOSE) console.log(details(report));
    expect(report.failures.length, describeFailures(report, "tests/fuzz/backchannel.test.ts")).toBe(0);
  });

  describe("inputs that once broke a rule, replayed", () => {
    it("answers 400, not 503, to a logout token whose kid names a published RSA key under 2048 bits: the keys were had, the key is unusable (RFC 7518 §3.3, BCL §2.8)", async () => {
      const tpl = template(new Rng(1));
      for (const key of [keys.weak, keys.issuer]) {
        const raw = issue(profile, withMember(tpl.header, "kid", J("k3")), tpl.claims, "RS256", key);
        const verdict = await check({
          family: "signature",
          name: "kid k3",
          raw,
          expect: "refuse",
          effect: "ends",
          keys: "with-weak-key",
          jti: tpl.jti,
        });
        expect(verdict.failure).toBeUndefined();
      }
    });

    it("refuses a logout token whose claims set is not valid UTF-8, and writes nothing (RFC 7519 §7.2 step 10)", async () => {
      const tpl = template(new Rng(2));
      const raw = issue(profile, tpl.header, withBytes(tpl.claims, "jti", Uint8Array.of(0xff)));
      const verdict = await check({ family: "claims", name: "invalid UTF-8 in jti", raw, expect: "refuse", effect: "any", jti: tpl.jti });
      expect(verdict.failure).toBeUndefined();
    });
  });
});
