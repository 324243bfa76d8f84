import { beforeAll, describe, expect, it } from "vitest";
import {
  base64url,
  CompactEncrypt,
  CompactSign,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import { validateSet, type SetPolicy } from "@/lib/ssf/validate";
import { SetError, setErrors, type SetErrorCode } from "@/lib/ssf/errors";
import { CAEP_EVENTS, RISC_EVENTS, SSF_EVENTS } from "@/lib/ssf/events";

const NOW = 1_800_000_000;
const ISSUER = "https://tr.example.com";
const AUDIENCE = "https://lockstep.example.com/api/ssf/events";
const SESSION_REVOKED = CAEP_EVENTS.sessionRevoked;

type KeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };
let rsa: KeyPair;
let ec: KeyPair;
let other: KeyPair;
let rsaPublicJwk: JWK;
let getKey: JWTVerifyGetKey;

const policy = (overrides: Partial<SetPolicy> = {}): SetPolicy => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ["RS256"],
  leewaySeconds: 60,
  maxAgeSeconds: 600,
  ...overrides,
});

/** The valid base SET of every test: the shape of the OpenID conformance suite's SSF transmitter SETs, issued now. */
const baseClaims = (): Record<string, unknown> => ({
  jti: "set-0001",
  iss: ISSUER,
  aud: AUDIENCE,
  iat: NOW,
  sub_id: { format: "iss_sub", iss: "https://idp.example.com", sub: "248289761001" },
  events: { [SESSION_REVOKED]: { event_timestamp: NOW - 5 } },
});

type Mutation = {
  claims?: (c: Record<string, unknown>) => void;
  header?: Record<string, unknown>;
  alg?: string;
  key?: CryptoKey | Uint8Array;
  kid?: string | null;
};

async function token(m: Mutation = {}): Promise<string> {
  const claims = baseClaims();
  m.claims?.(claims);
  const alg = m.alg ?? "RS256";
  const kid = m.kid === null ? {} : { kid: m.kid ?? (alg === "ES256" ? "ec-1" : "rsa-1") };
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: "secevent+jwt", ...kid, ...m.header })
    .sign(m.key ?? (alg === "ES256" ? ec.privateKey : rsa.privateKey));
}

async function signBytes(payload: string, header: Record<string, unknown> = {}): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: "RS256", typ: "secevent+jwt", kid: "rsa-1", ...header })
    .sign(rsa.privateKey);
}

const b64json = (v: unknown) => base64url.encode(JSON.stringify(v));

async function errorOf(promise: Promise<unknown>): Promise<SetError | "valid"> {
  try {
    await promise;
    return "valid";
  } catch (error) {
    if (error instanceof SetError) return error;
    throw error;
  }
}

async function codeOf(promise: Promise<unknown>): Promise<SetErrorCode | "valid"> {
  const e = await errorOf(promise);
  return e === "valid" ? e : e.code;
}

const check = (raw: string, p: SetPolicy = policy(), now = NOW, keys: JWTVerifyGetKey = getKey) => codeOf(validateSet(raw, p, keys, now));
const withClaims = (claims: (c: Record<string, unknown>) => void) => token({ claims });

beforeAll(async () => {
  rsa = await generateKeyPair("RS256");
  ec = await generateKeyPair("ES256");
  other = await generateKeyPair("RS256");
  rsaPublicJwk = { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1" };
  // As in the OpenID conformance suite: published keys carry no alg, and an EC key is published too.
  getKey = createLocalJWKSet({ keys: [rsaPublicJwk, { ...(await exportJWK(ec.publicKey)), kid: "ec-1" }] });
});

describe("Security Event Token validation (RFC 8417, SSF 1.0)", () => {
  it("accepts the valid base SET and returns its trusted claims", async () => {
    const valid = await validateSet(await token(), policy(), getKey, NOW);
    expect(valid).toEqual({
      jti: "set-0001",
      iss: ISSUER,
      iat: NOW,
      aud: [AUDIENCE],
      eventType: SESSION_REVOKED,
      event: { event_timestamp: NOW - 5 },
      subject: { format: "iss_sub", iss: "https://idp.example.com", sub: "248289761001" },
      subjectSource: "sub_id",
    });
  });

  describe("the compact JWS (RFC 8417 §2, RFC 7515 §7.1)", () => {
    it("rejects what is not a three-part compact JWS (RFC 7515 §7.1)", async () => {
      for (const raw of ["", "not-a-jwt", "a.b", "a.b.c.d"]) expect(await check(raw), raw).toBe("malformed");
      // Counted before the header is read: a well-formed header does not rescue a wrong shape.
      const [header, payload, signature] = (await token({ header: { typ: "JWT" } })).split(".");
      expect(await check(`${header}.${payload}.${signature}.extra`)).toBe("malformed");
      expect(await check(`${header}.${payload}`)).toBe("malformed");
    });

    it("rejects a header that is not base64url JSON (RFC 7515 §7.1)", async () => {
      const [, payload, signature] = (await token()).split(".");
      expect(await check(`!!!.${payload}.${signature}`)).toBe("malformed");
      expect(await check(`${base64url.encode("not json")}.${payload}.${signature}`)).toBe("malformed");
      expect(await check(`${b64json([{ alg: "RS256", typ: "secevent+jwt" }])}.${payload}.${signature}`)).toBe("malformed");
    });

    it("rejects a signature segment that is not base64url (RFC 7515 §7.1)", async () => {
      const [header, payload] = (await token()).split(".");
      expect(await check(`${header}.${payload}.!!!`)).toBe("malformed");
    });

    it("rejects an unencoded (b64 false) payload: a SET is a JWT (RFC 8417 §2)", async () => {
      const header = b64json({ alg: "RS256", typ: "secevent+jwt", kid: "rsa-1", b64: false, crit: ["b64"] });
      const payload = "{}";
      const input = new TextEncoder().encode(`${header}.${payload}`);
      const signature = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", rsa.privateKey, input));
      expect(await check(`${header}.${payload}.${base64url.encode(signature)}`)).toBe("malformed");
    });

    it("refuses an encrypted SET (JWE) with its own code (RFC 8417 §2)", async () => {
      const enc = await generateKeyPair("RSA-OAEP-256");
      const jwe = await new CompactEncrypt(new TextEncoder().encode(await token()))
        .setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A128GCM", cty: "secevent+jwt" })
        .encrypt(enc.publicKey);
      expect(await check(jwe)).toBe("encrypted_set_unsupported");
    });

    it("rejects a signed payload that is not a JSON object (RFC 8417 §2)", async () => {
      expect(await check(await signBytes("not json"))).toBe("invalid_payload");
      expect(await check(await signBytes(JSON.stringify([baseClaims()])))).toBe("invalid_payload");
      expect(await check(await signBytes("null"))).toBe("invalid_payload");
    });
  });

  describe("explicit typing (SSF §4.1.1)", () => {
    it("accepts secevent+jwt and application/secevent+jwt in any case (SSF §4.1.1)", async () => {
      for (const typ of ["secevent+jwt", "SECEVENT+JWT", "application/secevent+jwt", "Application/SecEvent+JWT"]) {
        expect(await check(await token({ header: { typ } })), typ).toBe("valid");
      }
    });

    it("rejects a SET without typ (SSF §4.1.1)", async () => {
      const unTyped = await new SignJWT(baseClaims()).setProtectedHeader({ alg: "RS256", kid: "rsa-1" }).sign(rsa.privateKey);
      expect(await check(unTyped)).toBe("invalid_typ");
    });

    it("rejects other JWT types (SSF §4.1.1)", async () => {
      for (const typ of ["JWT", "logout+jwt", "at+jwt", "secevent+jwt; charset=utf-8", "application/jwt"]) {
        expect(await check(await token({ header: { typ } })), typ).toBe("invalid_typ");
      }
      expect(await check(await token({ header: { typ: 1 } }))).toBe("invalid_typ");
    });
  });

  describe("algorithm and signature (SSF §4.1.4, CAEP-Interop §2.6)", () => {
    it("rejects alg none with an empty signature, even when the policy lists it (SSF §4.1.4, CAEP-Interop §2.6)", async () => {
      const header = b64json({ alg: "none", typ: "secevent+jwt" });
      const raw = `${header}.${b64json(baseClaims())}.`;
      expect(await check(raw)).toBe("alg_none");
      expect(await check(raw, policy({ algorithms: ["RS256", "none"] }))).toBe("alg_none");
      expect(await check(`${b64json({ alg: "NONE", typ: "secevent+jwt" })}.${b64json(baseClaims())}.`)).toBe("alg_none");
      // No alg at all is no signature either.
      expect(await check(`${b64json({ typ: "secevent+jwt" })}.${b64json(baseClaims())}.`)).toBe("alg_none");
    });

    it("rejects HS256 keyed with the Transmitter's public key, even when the policy lists it (SSF §4.1.4, CAEP-Interop §2.6)", async () => {
      const secret = new TextEncoder().encode(JSON.stringify(rsaPublicJwk));
      const raw = await token({ alg: "HS256", key: secret });
      expect(await check(raw)).toBe("alg_symmetric");
      expect(await check(raw, policy({ algorithms: ["RS256", "HS256"] }))).toBe("alg_symmetric");
    });

    it("rejects a SET signed with a published EC key when RS256 is expected, though its signature verifies (SSF §4.1.4, CAEP-Interop §2.6)", async () => {
      const raw = await token({ alg: "ES256" });
      expect(await check(raw)).toBe("alg_not_allowed");
      expect(await check(raw, policy({ algorithms: ["RS256", "ES256"] }))).toBe("valid");
    });

    it("defaults to RS256 alone when the policy names no algorithms (CAEP-Interop §2.6)", async () => {
      const { algorithms: _omitted, ...noAlgorithms } = policy();
      void _omitted;
      expect(await check(await token(), noAlgorithms)).toBe("valid");
      expect(await check(await token({ alg: "ES256" }), noAlgorithms)).toBe("alg_not_allowed");
    });

    it("rejects a kid the Transmitter does not publish (SSF §4.1.4)", async () => {
      expect(await check(await token({ key: other.privateKey, kid: "unknown" }))).toBe("unknown_key");
    });

    it("rejects a signature by a key the Transmitter does not publish (SSF §4.1.4)", async () => {
      expect(await check(await token({ key: other.privateKey }))).toBe("invalid_signature");
    });

    it("rejects a tampered payload (SSF §4.1.4)", async () => {
      const [header, , signature] = (await token()).split(".");
      const forged = b64json({ ...baseClaims(), sub_id: { format: "opaque", id: "someone-else" } });
      expect(await check(`${header}.${forged}.${signature}`)).toBe("invalid_signature");
    });

    it("tries each published key when the SET has no kid, and still refuses an unpublished one (SSF §4.1.4)", async () => {
      const second = await generateKeyPair("RS256");
      const keys = createLocalJWKSet({ keys: [rsaPublicJwk, await exportJWK(second.publicKey)] });
      expect(await check(await token({ kid: null, key: second.privateKey }), policy(), NOW, keys)).toBe("valid");
      expect(await check(await token({ kid: null, key: other.privateKey }), policy(), NOW, keys)).toBe("invalid_signature");
    });

    it("rejects an RSA key shorter than 2048 bits (SSF §4.1.4, CAEP-Interop §2.6)", async () => {
      const weak = (await crypto.subtle.generateKey(
        { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
        true,
        ["sign", "verify"],
      )) as CryptoKeyPair;
      const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(weak.publicKey)), kid: "weak" }] });
      const input = `${b64json({ alg: "RS256", typ: "secevent+jwt", kid: "weak" })}.${b64json(baseClaims())}`;
      const signature = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", weak.privateKey, new TextEncoder().encode(input)));
      expect(await check(`${input}.${base64url.encode(signature)}`, policy(), NOW, keys)).toBe("unusable_key");
    });

    it("answers keys_unavailable (503) when the Transmitter's keys cannot be fetched, so it retries (SSF §4.1.4, RFC 8935 §2.3)", async () => {
      const failures: unknown[] = [
        new TypeError("fetch failed"),
        new errors.JWKSTimeout(),
        new errors.JWKSInvalid(),
        new errors.JOSEError("Expected 200 OK"),
      ];
      for (const failure of failures) {
        const down: JWTVerifyGetKey = async () => {
          throw failure;
        };
        const error = await errorOf(validateSet(await token(), policy(), down, NOW));
        expect(error, String(failure)).toBeInstanceOf(SetError);
        expect((error as SetError).code).toBe("keys_unavailable");
        expect((error as SetError).status).toBe(503);
      }
    });

    it("maps every signature failure to the wire code invalid_key (SSF §4.1.4, RFC 8935 §2.4)", async () => {
      for (const code of ["alg_none", "alg_symmetric", "alg_not_allowed", "unknown_key", "unusable_key", "invalid_signature"] as const) {
        expect(new SetError(code).err, code).toBe("invalid_key");
        expect(new SetError(code).status, code).toBe(400);
      }
    });
  });

  describe("issuer and audience (SSF §4.1.6, §4.1.8)", () => {
    it("rejects an iss other than the stream's issuer, compared exactly (SSF §4.1.6)", async () => {
      for (const iss of [`${ISSUER}/`, "https://TR.example.com", "https://evil.example.com", undefined, 42]) {
        const error = await errorOf(validateSet(await withClaims((c) => void (c.iss = iss)), policy(), getKey, NOW));
        expect(error === "valid" ? error : [error.code, error.err], String(iss)).toEqual(["invalid_issuer", "invalid_issuer"]);
      }
    });

    it("rejects an aud that does not include the stream's audience (SSF §4.1.8)", async () => {
      for (const aud of [undefined, "someone-else", ["someone-else"], [], [AUDIENCE.toUpperCase()], [42, AUDIENCE]]) {
        const error = await errorOf(validateSet(await withClaims((c) => void (c.aud = aud)), policy(), getKey, NOW));
        expect(error === "valid" ? error : [error.code, error.err], JSON.stringify(aud)).toEqual(["invalid_audience", "invalid_audience"]);
      }
    });

    it("accepts aud as an array that includes the stream's audience among others (SSF §4.1.8)", async () => {
      const valid = await validateSet(
        await withClaims((c) => void (c.aud = ["receiver.example.com/mobile", AUDIENCE])),
        policy(),
        getKey,
        NOW,
      );
      expect(valid.aud).toEqual(["receiver.example.com/mobile", AUDIENCE]);
    });

    it("accepts any of the stream's audiences when the stream has several (SSF §4.1.8)", async () => {
      const p = policy({ audience: ["receiver.example.com/web", "receiver.example.com/mobile"] });
      expect(await check(await withClaims((c) => void (c.aud = "receiver.example.com/mobile")), p)).toBe("valid");
      expect(await check(await withClaims((c) => void (c.aud = "receiver.example.com/tv")), p)).toBe("invalid_audience");
    });
  });

  describe("iat and jti (RFC 8417 §2.2)", () => {
    it("rejects a SET without a numeric iat (RFC 8417 §2.2)", async () => {
      expect(await check(await withClaims((c) => void delete c.iat))).toBe("missing_iat");
      expect(await check(await withClaims((c) => void (c.iat = String(NOW))))).toBe("missing_iat");
    });

    it("rejects an iat in the future beyond the leeway, and accepts one within it (RFC 8417 §2.2)", async () => {
      expect(await check(await withClaims((c) => void (c.iat = NOW + 61)))).toBe("iat_in_future");
      expect(await check(await withClaims((c) => void (c.iat = NOW + 59)))).toBe("valid");
    });

    it("rejects a SET older than the maximum age plus leeway (RFC 8417 §2.2)", async () => {
      expect(await check(await withClaims((c) => void (c.iat = NOW - 661)))).toBe("iat_too_old");
      expect(await check(await withClaims((c) => void (c.iat = NOW - 659)))).toBe("valid");
    });

    it("rejects a SET without a non-empty string jti (RFC 8417 §2.2)", async () => {
      for (const jti of [undefined, "", 42]) {
        expect(await check(await withClaims((c) => void (c.jti = jti))), String(jti)).toBe("missing_jti");
      }
    });
  });

  describe("anti-confusion claims (SSF §4.1.2, §4.1.3, §4.1.7)", () => {
    it("rejects a SET that carries sub (SSF §4.1.2, §4.1.3)", async () => {
      expect(await check(await withClaims((c) => void (c.sub = "248289761001")))).toBe("sub_present");
    });

    it("rejects a SET that carries exp (SSF §4.1.3, §4.1.7)", async () => {
      expect(await check(await withClaims((c) => void (c.exp = NOW + 120)))).toBe("exp_present");
    });

    it("rejects a Logout Token that claims to be a SET (SSF §4.1.3)", async () => {
      // BCL §2.4's example, re-addressed to this stream: it has sub and exp.
      const logoutToken = {
        iss: ISSUER,
        sub: "248289761001",
        aud: AUDIENCE,
        iat: NOW,
        exp: NOW + 120,
        jti: "bWJq",
        sid: "08a5019c",
        events: { "http://schemas.openid.net/event/backchannel-logout": {} },
      };
      expect(await check(await signBytes(JSON.stringify(logoutToken)))).toBe("sub_present");
      expect(await check(await signBytes(JSON.stringify(logoutToken), { typ: "logout+jwt" }))).toBe("invalid_typ");
    });
  });

  describe("events (RFC 8417 §2.2, SSF §4.2.1)", () => {
    it("rejects events that are absent or not an object (RFC 8417 §2.2)", async () => {
      for (const events of [undefined, "x", [SESSION_REVOKED], null, true]) {
        expect(await check(await withClaims((c) => void (c.events = events))), JSON.stringify(events)).toBe("invalid_events");
      }
    });

    it("rejects events holding no event (SSF §4.2.1)", async () => {
      expect(await check(await withClaims((c) => void (c.events = {})))).toBe("missing_event");
    });

    it("rejects a SET holding more than one event (SSF §4.2.1, CAEP-Interop §2.8.1)", async () => {
      const events = { [SESSION_REVOKED]: {}, [RISC_EVENTS.sessionsRevoked]: {} };
      expect(await check(await withClaims((c) => void (c.events = events)))).toBe("multiple_events");
    });

    it("rejects an event whose value is not an object (RFC 8417 §2.2)", async () => {
      for (const value of ["", [], null, true, 1]) {
        expect(await check(await withClaims((c) => void (c.events = { [SESSION_REVOKED]: value }))), JSON.stringify(value)).toBe(
          "invalid_event_payload",
        );
      }
    });

    it("accepts an event type it does not know, and an empty event value (SSF §4.2.3)", async () => {
      const valid = await validateSet(
        await withClaims((c) => void (c.events = { "urn:example:secevent:events:type_2": {} })),
        policy(),
        getKey,
        NOW,
      );
      expect(valid.eventType).toBe("urn:example:secevent:events:type_2");
      expect(valid.event).toEqual({});
    });

    it("ignores claims it does not know (SSF §4.2.3)", async () => {
      expect(await check(await withClaims((c) => void Object.assign(c, { nbf: NOW, foo: { bar: 1 }, nonce: "n" })))).toBe("valid");
    });
  });

  describe("txn and toe (SSF §4.1.9, RFC 8417 §2.2)", () => {
    it("returns txn and toe when present and well-typed (SSF §4.1.9)", async () => {
      const valid = await validateSet(
        await withClaims((c) => void Object.assign(c, { txn: "8675309", toe: NOW - 30 })),
        policy(),
        getKey,
        NOW,
      );
      expect(valid).toMatchObject({ txn: "8675309", toe: NOW - 30 });
    });

    it("rejects a txn that is not a string (SSF §4.1.9)", async () => {
      expect(await check(await withClaims((c) => void (c.txn = 8675309)))).toBe("invalid_txn");
    });

    it("rejects a toe that is not a number (RFC 8417 §2.2)", async () => {
      expect(await check(await withClaims((c) => void (c.toe = "yesterday")))).toBe("invalid_toe");
    });
  });

  describe("the subject (SSF §3, RFC 9493 §3.2, RISC §3.1)", () => {
    const legacySubject = { subject_type: "iss-sub", iss: "https://idp.example.com", sub: "248289761001" };

    it("falls back to the legacy subject inside the event when there is no sub_id (SSF §3.1, RISC §3.1)", async () => {
      const raw = await withClaims((c) => {
        delete c.sub_id;
        c.events = { [RISC_EVENTS.accountDisabled]: { subject: legacySubject, reason: "hijacking" } };
      });
      const valid = await validateSet(raw, policy(), getKey, NOW);
      expect(valid.subjectSource).toBe("legacy_subject");
      expect(valid.subject).toEqual({ format: "iss_sub", iss: "https://idp.example.com", sub: "248289761001" });
    });

    it("prefers sub_id to a legacy subject (SSF §3.1)", async () => {
      const raw = await withClaims((c) => void (c.events = { [SESSION_REVOKED]: { subject: { format: "opaque", id: "other" } } }));
      const valid = await validateSet(raw, policy(), getKey, NOW);
      expect(valid.subjectSource).toBe("sub_id");
      expect(valid.subject.format).toBe("iss_sub");
    });

    it("rejects a SET that names no subject (SSF §3.1)", async () => {
      expect(await check(await withClaims((c) => void delete c.sub_id))).toBe("missing_subject");
    });

    it("rejects an ill-formed sub_id without falling back to a legacy subject (SSF §3.1, RFC 9493 §3.2)", async () => {
      for (const subId of [null, "248289761001", { iss: "x", sub: "y" }, { format: "iss_sub", iss: "x" }, { format: "complex" }]) {
        const raw = await withClaims((c) => void ((c.sub_id = subId), (c.events = { [SESSION_REVOKED]: { subject: legacySubject } })));
        expect(await check(raw), JSON.stringify(subId)).toBe("invalid_subject");
      }
    });

    it("rejects an ill-formed legacy subject (SSF §3.1, RFC 9493 §3.2)", async () => {
      const raw = await withClaims(
        (c) => void (delete c.sub_id, (c.events = { [SESSION_REVOKED]: { subject: { subject_type: "email" } } })),
      );
      expect(await check(raw)).toBe("invalid_subject");
    });

    it("accepts a subject format it does not know, as unknown (SSF §3.4)", async () => {
      const valid = await validateSet(
        await withClaims((c) => void (c.sub_id = { format: "x-proprietary", id: "1" })),
        policy(),
        getKey,
        NOW,
      );
      expect(valid.subject).toEqual({ format: "unknown", raw: { format: "x-proprietary", id: "1" } });
    });

    describe("critical_subject_members (SSF §3.6)", () => {
      const complex = (tenant: unknown) => ({
        format: "complex",
        user: { format: "iss_sub", iss: "https://idp.example.com", sub: "248289761001" },
        tenant,
      });
      const unknownTenant = { format: "x-tenant", id: "t1" };

      it("discards an event whose critical member has a format we cannot process (SSF §3.6)", async () => {
        const raw = await withClaims((c) => void (c.sub_id = complex(unknownTenant)));
        const error = await errorOf(validateSet(raw, policy({ criticalSubjectMembers: ["tenant", "user"] }), getKey, NOW));
        expect(error).toBeInstanceOf(SetError);
        expect((error as SetError).code).toBe("unprocessable_critical_subject");
        expect((error as SetError).discard).toBe(true);
      });

      it("discards an event whose critical member is aliases of formats we cannot process (SSF §3.6)", async () => {
        const raw = await withClaims((c) => void (c.sub_id = complex({ format: "aliases", identifiers: [unknownTenant] })));
        expect(await check(raw, policy({ criticalSubjectMembers: ["tenant"] }))).toBe("unprocessable_critical_subject");
      });

      it("discards an event whose critical member is a member name SSF does not define (SSF §3.6)", async () => {
        const raw = await withClaims(
          (c) => void (c.sub_id = { ...complex({ format: "opaque", id: "t1" }), region: { format: "opaque", id: "eu" } }),
        );
        expect(await check(raw, policy({ criticalSubjectMembers: ["region"] }))).toBe("unprocessable_critical_subject");
        expect(await check(raw)).toBe("valid");
      });

      it("processes the event when the unprocessable member is not critical, or is absent (SSF §3.6)", async () => {
        const raw = await withClaims((c) => void (c.sub_id = complex(unknownTenant)));
        expect(await check(raw, policy({ criticalSubjectMembers: ["user"] }))).toBe("valid");
        expect(await check(raw)).toBe("valid");
        expect(await check(await token(), policy({ criticalSubjectMembers: ["tenant", "user"] }))).toBe("valid");
      });
    });
  });

  describe("the error table (RFC 8935 §2.3, §2.4)", () => {
    const wire = new Set([
      "invalid_request",
      "invalid_key",
      "invalid_issuer",
      "invalid_audience",
      "authentication_failed",
      "access_denied",
      "invalid_state",
    ]);

    it("gives every code an RFC 8935 §2.4 (or SSF §8.1.4.1 invalid_state) err, a 400 or 503 status and the rule it answers for", () => {
      for (const [code, row] of Object.entries(setErrors)) {
        expect(wire.has(row.err), code).toBe(true);
        expect([400, 503], code).toContain(row.status);
        // A section of RFC 8417/8935/9493, SSF, CAEP-Interop or RISC. (The old private tags are still
        // accepted until lib/ssf/errors.ts is converted; drop that alternative then.)
        expect(row.spec, code).toMatch(/^(?:RFC \d{4}|SSF|CAEP-Interop|CAEP|RISC) §\d/);
      }
    });

    it("serialises to the RFC 8935 §2.3 error body", () => {
      expect(JSON.parse(JSON.stringify(new SetError("invalid_audience")))).toEqual({
        err: "invalid_audience",
        description: setErrors.invalid_audience.message,
      });
      expect(new SetError("invalid_state").err).toBe("invalid_state");
    });

    it("marks only the critical-subject code as discard (SSF §3.6)", () => {
      const discarded = (Object.keys(setErrors) as SetErrorCode[]).filter((code) => new SetError(code).discard);
      expect(discarded).toEqual(["unprocessable_critical_subject"]);
    });
  });

  it("validates the SSF Verification event the suite sends (SSF §8.1.4.1)", async () => {
    const raw = await withClaims(
      (c) => void ((c.sub_id = { format: "opaque", id: "stream-1" }), (c.events = { [SSF_EVENTS.verification]: { state: "abc" } })),
    );
    const valid = await validateSet(raw, policy(), getKey, NOW);
    expect(valid).toMatchObject({
      eventType: SSF_EVENTS.verification,
      event: { state: "abc" },
      subject: { format: "opaque", id: "stream-1" },
    });
  });
});
