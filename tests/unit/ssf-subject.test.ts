import { beforeAll, describe, expect, it } from "vitest";
import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWTVerifyGetKey } from "jose";
import { validateSet, type SetPolicy } from "@/lib/ssf/validate";
import { SetError, type SetErrorCode } from "@/lib/ssf/errors";
import { CAEP_EVENTS, isKnownEventType, RISC_EVENTS, SSF_EVENTS } from "@/lib/ssf/events";
import { matchesSession, parseSubject, subjectKey, type SessionIdentity, type Subject } from "@/lib/ssf/subject";

/*
 * The example SETs printed in CAEP 1.0 §3, RISC 1.0 §2 and SSF 1.0 §3, §5 and §8, verbatim. Each is signed with the test key and
 * checked against a policy built from its own iss and aud, on a clock set to its iat.
 */
const EXAMPLES: { name: string; json: string; subjectKey: string }[] = [
  {
    name: "CAEP §3.1.2 session-revoked, simple subject",
    subjectKey: "opaque",
    json: `{"iss":"https://idp.example.com/123456789/","jti":"24c63fb56e5a2d77a6b512616ca9fa24","iat":1615305159,"aud":"https://sp.example.com/caep","txn":"8675309","sub_id":{"format":"opaque","id":"dMTlD|1600802906337.16|16008.16"},"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{"event_timestamp":1615304991}}}`,
  },
  {
    name: "CAEP §3.1.2 session-revoked, complex subject",
    subjectKey: "complex(user:iss_sub,session:opaque,tenant:opaque)",
    json: `{"iss":"https://idp.example.com/123456789/","jti":"24c63fb56e5a2d77a6b512616ca9fa24","iat":1615305159,"aud":"https://sp.example.com/caep","txn":"8675309","sub_id":{"format":"complex","session":{"format":"opaque","id":"dMTlD|1600802906337.16|16008.16"},"user":{"format":"iss_sub","iss":"https://idp.example.com/123456789/","sub":"99beb27c-c1c2-4955-882a-e0dc4996fcbc"},"tenant":{"format":"opaque","id":"123456789"}},"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{"initiating_entity":"policy","reason_admin":{"en":"Landspeed Policy Violation: C076E82F"},"reason_user":{"en":"Access attempt from multiple regions.","es-410":"Intento de acceso desde varias regiones."},"event_timestamp":1615304991}}}`,
  },
  {
    name: "CAEP §3.2.2 token-claims-change",
    subjectKey: "jwt_id",
    json: `{"iss":"https://idp.example.com/987654321/","jti":"9afce1e4e642b165fcaacdd0e7aa4903","iat":1615305159,"aud":"https://sp.example2.net/caep","txn":"8675309","sub_id":{"format":"jwt_id","iss":"https://idp.example.com/987654321/","jti":"f61t6e20zdo3px56gepu8rzlsp4c1dpc0fx7"},"events":{"https://schemas.openid.net/secevent/caep/event-type/token-claims-change":{"event_timestamp":1615304991,"claims":{"role":"ro-admin"}}}}`,
  },
  {
    name: "CAEP §3.2.2 token-claims-change, SAML assertion subject",
    subjectKey: "saml_assertion_id",
    json: `{"iss":"https://idp.example.com/987654321/","jti":"dae94fed5f459881efa38b65c6772ddc","iat":1615305159,"aud":"https://sp.example2.net/caep","txn":"8675309","sub_id":{"format":"saml_assertion_id","issuer":"https://idp.example.com/987654321/","assertion_id":"_a75adf55-01d7-dbd8372ebdfc"},"events":{"https://schemas.openid.net/secevent/caep/event-type/token-claims-change":{"event_timestamp":1615304991,"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/role":"ro-admin"}}}}`,
  },
  {
    name: "CAEP §3.3.2 credential-change",
    subjectKey: "iss_sub",
    json: `{"iss":"https://idp.example.com/3456789/","jti":"07efd930f0977e4fcc1149a733ce7f78","iat":1615305159,"aud":"https://sp.example2.net/caep","txn":"8675309","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/3456789/","sub":"jane.smith@example.com"},"events":{"https://schemas.openid.net/secevent/caep/event-type/credential-change":{"credential_type":"fido2-roaming","change_type":"create","fido2_aaguid":"accced6a-63f5-490a-9eea-e59bc1896cfc","friendly_name":"Jane's USB authenticator","initiating_entity":"user","reason_admin":{"en":"User self-enrollment"},"event_timestamp":1615304991}}}`,
  },
  {
    name: "CAEP §3.4.2 assurance-level-change",
    subjectKey: "iss_sub",
    json: `{"iss":"https://idp.example.com/3456789/","jti":"07efd930f0977e4fcc1149a733ce7f78","iat":1615305159,"aud":"https://sp.example2.net/caep","txn":"8675309","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/3456789/","sub":"jane.smith@example.com"},"events":{"https://schemas.openid.net/secevent/caep/event-type/assurance-level-change":{"namespace":"NIST-AAL","current_level":"nist-aal2","previous_level":"nist-aal1","change_direction":"increase","initiating_entity":"user","event_timestamp":1615304991}}}`,
  },
  {
    name: "CAEP §3.4.2 assurance-level-change without previous_level",
    subjectKey: "iss_sub",
    json: `{"iss":"https://idp.example.com/3456789/","jti":"07efd930f0977e4fcc1149a733ce7f78","iat":1615305159,"aud":"https://sp.example2.net/caep","txn":"8675309","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/3456789/","sub":"jane.smith@example.com"},"events":{"https://schemas.openid.net/secevent/caep/event-type/assurance-level-change":{"namespace":"Retinal Scan","current_level":"hi-res-scan","initiating_entity":"user","event_timestamp":1615304991}}}`,
  },
  {
    name: "CAEP §3.5.2 device-compliance-change",
    subjectKey: "complex(device:iss_sub,tenant:opaque)",
    json: `{"iss":"https://idp.example.com/123456789/","jti":"24c63fb56e5a2d77a6b512616ca9fa24","iat":1615305159,"aud":"https://sp.example.com/caep","txn":"8675309","sub_id":{"format":"complex","device":{"format":"iss_sub","iss":"https://idp.example.com/123456789/","sub":"e9297990-14d2-42ec-a4a9-4036db86509a"},"tenant":{"format":"opaque","id":"123456789"}},"events":{"https://schemas.openid.net/secevent/caep/event-type/device-compliance-change":{"current_status":"not-compliant","previous_status":"compliant","initiating_entity":"policy","reason_admin":{"en":"Location Policy Violation: C076E8A3"},"reason_user":{"en":"Device is no longer in a trusted location."},"event_timestamp":1615304991}}}`,
  },
  {
    name: "RISC §2.3 account-disabled (trailing comma fixed)",
    subjectKey: "iss_sub",
    json: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696572","iat":1508184845,"aud":"636C69656E745F6964","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/","sub":"7375626A656374"},"events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{"reason":"hijacking"}}}`,
  },
  {
    name: "SSF §5 account-disabled, phone_number subject",
    subjectKey: "phone_number",
    json: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696572","iat":1520364019,"txn":"8675309","aud":"636C69656E745F6964","sub_id":{"format":"phone_number","phone_number":"+1 206 555 0123"},"events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{"reason":"hijacking"}}}`,
  },
  {
    name: "RISC §2.2 account-purged (constructed)",
    subjectKey: "iss_sub",
    json: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696573","iat":1508184845,"aud":"636C69656E745F6964","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/","sub":"7375626A656374"},"events":{"https://schemas.openid.net/secevent/risc/event-type/account-purged":{}}}`,
  },
  {
    name: "RISC §2.11 sessions-revoked (constructed)",
    subjectKey: "iss_sub",
    json: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696574","iat":1508184845,"aud":"636C69656E745F6964","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/","sub":"7375626A656374"},"events":{"https://schemas.openid.net/secevent/risc/event-type/sessions-revoked":{}}}`,
  },
  {
    name: "RISC §2.1 account-credential-change-required",
    subjectKey: "iss_sub",
    json: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696572","iat":1508184845,"aud":"636C69656E745F6964","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/","sub":"7375626A656374"},"events":{"https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required":{}}}`,
  },
  {
    name: "RISC §2.5 identifier-changed",
    subjectKey: "email",
    json: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696572","iat":1508184845,"aud":"636C69656E745F6964","sub_id":{"format":"email","email":"john.doe@example.com"},"events":{"https://schemas.openid.net/secevent/risc/event-type/identifier-changed":{"new-value":"john.roe@example.com"}}}`,
  },
  {
    name: "SSF §8.1.4.2 Verification",
    subjectKey: "opaque",
    json: `{"jti":"123456","iss":"https://transmitter.example.com","aud":"receiver.example.com","iat":1493856000,"sub_id":{"format":"opaque","id":"f67e39a0a4d34d56b3aa1bc4cff0069f"},"events":{"https://schemas.openid.net/secevent/ssf/event-type/verification":{"state":"VGhpcyBpcyBhbiBleGFtcGxlIHN0YXRlIHZhbHVlLgo="}}}`,
  },
  {
    name: "SSF §8.1.5 Stream Updated",
    subjectKey: "opaque",
    json: `{"jti":"123456","iss":"https://transmitter.example.com","aud":"receiver.example.com","iat":1493856000,"sub_id":{"format":"opaque","id":"f67e39a0a4d34d56b3aa1bc4cff0069f"},"events":{"https://schemas.openid.net/secevent/ssf/event-type/stream-updated":{"status":"paused","reason":"Internal error"}}}`,
  },
  {
    name: "SSF §4.1.8 array aud",
    subjectKey: "opaque",
    json: `{"jti":"123456","iss":"https://transmitter.example.com","aud":["receiver.example.com/web","receiver.example.com/mobile"],"iat":1493856000,"txn":"8675309","sub_id":{"format":"opaque","id":"72e6991badb44e08a69672960053b342"},"events":{"https://schemas.openid.net/secevent/ssf/event-type/verification":{"state":"VGhpcyBpcyBhbiBleGFtcGxlIHN0YXRlIHZhbHVlLgo="}}}`,
  },
  {
    name: "SSF §5 account-enabled, email subject",
    subjectKey: "email",
    json: `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696572","iat":1520364019,"txn":"8675309","aud":"636C69656E745F6964","sub_id":{"format":"email","email":"foo@example.com"},"events":{"https://schemas.openid.net/secevent/risc/event-type/account-enabled":{}}}`,
  },
];

/** RISC §2.3's example as the spec prints it: a trailing comma after "sub", which is not JSON. */
const RISC_ACCOUNT_DISABLED_AS_PRINTED = `{"iss":"https://idp.example.com/","jti":"756E69717565206964656E746966696572","iat":1508184845,"aud":"636C69656E745F6964","sub_id":{"format":"iss_sub","iss":"https://idp.example.com/","sub":"7375626A656374",},"events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{"reason":"hijacking"}}}`;

let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let getKey: JWTVerifyGetKey;

beforeAll(async () => {
  rsa = await generateKeyPair("RS256");
  getKey = createLocalJWKSet({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: "tr-1" }] });
});

/** The header the OpenID conformance suite's SSF transmitter uses, over the example's bytes, unchanged. */
const sign = (json: string) =>
  new CompactSign(new TextEncoder().encode(json))
    .setProtectedHeader({ alg: "RS256", typ: "secevent+jwt", kid: "tr-1" })
    .sign(rsa.privateKey);

function policyFor(claims: { iss: string; aud: string | string[] }): SetPolicy {
  return {
    issuer: claims.iss,
    audience: typeof claims.aud === "string" ? claims.aud : claims.aud.slice(-1),
    algorithms: ["RS256"],
    leewaySeconds: 60,
    maxAgeSeconds: 600,
  };
}

function codeOf(fn: () => unknown): SetErrorCode | "valid" {
  try {
    fn();
    return "valid";
  } catch (error) {
    if (error instanceof SetError) return error.code;
    throw error;
  }
}

describe("the specifications' example SETs (CAEP 1.0, RISC 1.0, SSF 1.0)", () => {
  for (const example of EXAMPLES) {
    it(`validates ${example.name}, and parses its subject (RFC 8417 §2.2, SSF §3, RFC 9493 §3.2)`, async () => {
      const claims = JSON.parse(example.json) as {
        iss: string;
        aud: string | string[];
        iat: number;
        sub_id: unknown;
        events: Record<string, unknown>;
      };
      const valid = await validateSet(await sign(example.json), policyFor(claims), getKey, claims.iat);
      const [eventType] = Object.keys(claims.events);
      expect(valid.eventType).toBe(eventType);
      expect(isKnownEventType(valid.eventType)).toBe(true);
      expect(valid.subjectSource).toBe("sub_id");
      expect(valid.subject).toEqual(parseSubject(claims.sub_id));
      expect(subjectKey(valid.subject)).toBe(example.subjectKey);
    });
  }

  it("refuses RISC §2.3's example as printed, whose trailing comma is not JSON (RFC 8417 §2.2)", async () => {
    const raw = await sign(RISC_ACCOUNT_DISABLED_AS_PRINTED);
    const error = await validateSet(
      raw,
      policyFor({ iss: "https://idp.example.com/", aud: "636C69656E745F6964" }),
      getKey,
      1508184845,
    ).catch((e: unknown) => e);
    expect((error as SetError).code).toBe("invalid_payload");
  });

  it("parses the standalone complex subject example (SSF §3.3)", () => {
    const subject = parseSubject(
      JSON.parse(
        `{"format":"complex","user":{"format":"email","email":"bar@example.com"},"tenant":{"format":"iss_sub","iss":"https://example.com/idp1","sub":"1234"}}`,
      ),
    );
    expect(subject).toEqual({
      format: "complex",
      user: { format: "email", email: "bar@example.com" },
      tenant: { format: "iss_sub", iss: "https://example.com/idp1", sub: "1234" },
    });
    expect(subjectKey(subject)).toBe("complex(user:email,tenant:iss_sub)");
  });

  it("names every event type of the examples with the exported constants", () => {
    const used = new Set(EXAMPLES.map((e) => Object.keys((JSON.parse(e.json) as { events: object }).events)[0]));
    const constants = new Set<string>([...Object.values(CAEP_EVENTS), ...Object.values(RISC_EVENTS), ...Object.values(SSF_EVENTS)]);
    for (const uri of used) expect(constants.has(uri as string), uri).toBe(true);
    expect(Object.keys(CAEP_EVENTS)).toHaveLength(8);
    expect(Object.keys(RISC_EVENTS)).toHaveLength(14);
    expect(Object.keys(SSF_EVENTS)).toHaveLength(2);
    for (const uri of Object.values(CAEP_EVENTS))
      expect(uri).toMatch(/^https:\/\/schemas\.openid\.net\/secevent\/caep\/event-type\/[a-z-]+$/);
    for (const uri of Object.values(RISC_EVENTS))
      expect(uri).toMatch(/^https:\/\/schemas\.openid\.net\/secevent\/risc\/event-type\/[a-z-]+$/);
    for (const uri of Object.values(SSF_EVENTS))
      expect(uri).toMatch(/^https:\/\/schemas\.openid\.net\/secevent\/ssf\/event-type\/[a-z-]+$/);
    expect(isKnownEventType("urn:example:secevent:events:type_2")).toBe(false);
  });
});

describe("parseSubject (RFC 9493, SSF 1.0 §3)", () => {
  it("parses every RFC 9493 and SSF simple format, dropping members the format does not define (RFC 9493 §3.2, SSF §3.5)", () => {
    const cases: Subject[] = [
      { format: "account", uri: "acct:example.user@service.example.com" },
      { format: "email", email: "user@example.com" },
      { format: "iss_sub", iss: "https://issuer.example.com/", sub: "145234573" },
      { format: "opaque", id: "11112222333344445555" },
      { format: "phone_number", phone_number: "+12065550100" },
      { format: "did", url: "did:example:123456" },
      { format: "uri", uri: "https://user.example.com/" },
      { format: "jwt_id", iss: "https://idp.example.com/", jti: "f61t6e20" },
      { format: "saml_assertion_id", issuer: "https://idp.example.com/", assertion_id: "_a75adf55" },
      { format: "ip-addresses", "ip-addresses": ["10.29.37.75", "2001:db8::1"] },
    ];
    for (const subject of cases) {
      expect(parseSubject({ ...subject, extra: "dropped" }), subject.format).toEqual(subject);
      expect(subjectKey(subject)).toBe(subject.format);
    }
  });

  it("refuses a known format with missing or ill-typed members (RFC 9493 §3.2)", () => {
    const bad = [
      { format: "account", uri: "mailto:user@example.com" },
      { format: "email", email: "not-an-address" },
      { format: "email", email: "user@" },
      { format: "iss_sub", iss: "https://issuer.example.com/" },
      { format: "iss_sub", iss: "https://issuer.example.com/", sub: "" },
      { format: "opaque", id: 42 },
      { format: "phone_number", phone_number: "2065550100" },
      { format: "did", url: "https://example.com" },
      { format: "uri", uri: "not a uri" },
      { format: "jwt_id", iss: "https://idp.example.com/" },
      { format: "saml_assertion_id", assertion_id: "_a75adf55" },
      { format: "ip-addresses", "ip-addresses": [] },
    ];
    for (const value of bad)
      expect(
        codeOf(() => parseSubject(value)),
        JSON.stringify(value),
      ).toBe("invalid_subject");
  });

  it("refuses what is not an object with a format, as invalid_request (SSF §3.2, RFC 9493 §3)", () => {
    for (const value of [null, undefined, "opaque", ["opaque"], {}, { id: "x" }, { format: "" }, { format: 1, id: "x" }]) {
      expect(
        codeOf(() => parseSubject(value)),
        JSON.stringify(value),
      ).toBe("invalid_subject");
    }
    expect(new SetError("invalid_subject").err).toBe("invalid_request");
  });

  it("parses a format it does not know as unknown, keeping it raw (SSF §3.4)", () => {
    expect(parseSubject({ format: "x-proprietary", id: "1" })).toEqual({ format: "unknown", raw: { format: "x-proprietary", id: "1" } });
  });

  it("treats `phone` as an unknown format: RFC 9493 §3.2 says phone_number (SSF §8.1.3.3's example misspells it)", () => {
    const subject = parseSubject({ format: "phone", phone_number: "+1 206 555 0123" });
    expect(subject.format).toBe("unknown");
    expect(parseSubject({ format: "phone_number", phone_number: "+1 206 555 0123" })).toEqual({
      format: "phone_number",
      phone_number: "+1 206 555 0123",
    });
  });

  it("tolerates Google's legacy subject_type, normalised to format (RISC §3.1)", () => {
    expect(parseSubject({ subject_type: "iss-sub", iss: "https://accounts.google.com/", sub: "7375626A656374" })).toEqual({
      format: "iss_sub",
      iss: "https://accounts.google.com/",
      sub: "7375626A656374",
    });
    expect(parseSubject({ subject_type: "email", email: "user@example.com" })).toEqual({ format: "email", email: "user@example.com" });
    expect(parseSubject({ subject_type: "phone", phone_number: "+12065550100" })).toEqual({
      format: "phone_number",
      phone_number: "+12065550100",
    });
    expect(parseSubject({ subject_type: "id-token-claims", sub: "x" })).toEqual({
      format: "unknown",
      raw: { subject_type: "id-token-claims", sub: "x" },
    });
    expect(codeOf(() => parseSubject({ subject_type: "iss-sub", iss: "https://accounts.google.com/" }))).toBe("invalid_subject");
  });

  it("lets format win over subject_type when both are present (RISC §3.1)", () => {
    expect(parseSubject({ format: "opaque", subject_type: "iss-sub", id: "x" })).toEqual({ format: "opaque", id: "x" });
  });

  it("parses aliases of identifiers, and refuses empty or nested aliases (RFC 9493 §3.2.8)", () => {
    const aliases = {
      format: "aliases",
      identifiers: [
        { format: "email", email: "user@example.com" },
        { format: "x-proprietary", id: "1" },
      ],
    };
    expect(parseSubject(aliases)).toEqual({
      format: "aliases",
      identifiers: [
        { format: "email", email: "user@example.com" },
        { format: "unknown", raw: { format: "x-proprietary", id: "1" } },
      ],
    });
    expect(subjectKey(parseSubject(aliases))).toBe("aliases(email,unknown(x-proprietary))");
    expect(codeOf(() => parseSubject({ format: "aliases", identifiers: [] }))).toBe("invalid_subject");
    expect(codeOf(() => parseSubject({ format: "aliases" }))).toBe("invalid_subject");
    expect(codeOf(() => parseSubject({ format: "aliases", identifiers: [aliases] }))).toBe("invalid_subject");
    expect(
      codeOf(() => parseSubject({ format: "aliases", identifiers: [{ format: "complex", user: { format: "opaque", id: "1" } }] })),
    ).toBe("invalid_subject");
  });

  it("parses complex subjects, and refuses empty, nested or ill-formed ones (SSF §3.3)", () => {
    expect(
      parseSubject({
        format: "complex",
        group: { format: "opaque", id: "g" },
        org_unit: { format: "opaque", id: "o" },
        application: { format: "opaque", id: "a" },
      }),
    ).toEqual({
      format: "complex",
      group: { format: "opaque", id: "g" },
      org_unit: { format: "opaque", id: "o" },
      application: { format: "opaque", id: "a" },
    });
    expect(codeOf(() => parseSubject({ format: "complex" }))).toBe("invalid_subject");
    expect(codeOf(() => parseSubject({ format: "complex", region: { format: "opaque", id: "eu" } }))).toBe("invalid_subject");
    expect(codeOf(() => parseSubject({ format: "complex", user: { format: "complex", user: { format: "opaque", id: "1" } } }))).toBe(
      "invalid_subject",
    );
    expect(codeOf(() => parseSubject({ format: "complex", user: { format: "email" } }))).toBe("invalid_subject");
    expect(codeOf(() => parseSubject({ format: "complex", user: null }))).toBe("invalid_subject");
  });

  it("keeps a complex member of unknown format as unknown, and drops member names SSF does not define (SSF §3.3, §3.6)", () => {
    const subject = parseSubject({
      format: "complex",
      user: { format: "opaque", id: "1" },
      tenant: { format: "x-tenant", id: "t" },
      region: { format: "opaque", id: "eu" },
    });
    expect(subject).toEqual({
      format: "complex",
      user: { format: "opaque", id: "1" },
      tenant: { format: "unknown", raw: { format: "x-tenant", id: "t" } },
    });
  });
});

describe("matchesSession (SSF §3.3, §8.1.3.1)", () => {
  const session: SessionIdentity = {
    iss: "https://idp.example.com/",
    sub: "248289761001",
    sid: "idp-sid-1",
    lsid: "ls_abc123",
    email: "Jane.Smith@Example.COM",
  };
  const match = (subject: unknown, s: SessionIdentity = session) => matchesSession(parseSubject(subject), s);
  const issSub = { format: "iss_sub", iss: session.iss, sub: session.sub };
  const otherUser = { format: "iss_sub", iss: session.iss, sub: "someone-else" };
  const thisSession = { format: "opaque", id: session.lsid };
  const otherSession = { format: "opaque", id: "ls_other" };

  it("iss_sub matches when both iss and sub are equal", () => {
    expect(match(issSub)).toBe(true);
    expect(match({ ...issSub, iss: "https://idp.example.com" })).toBe(false);
    expect(match(otherUser)).toBe(false);
  });

  it("email matches exactly on the local part and case-insensitively on the domain", () => {
    expect(match({ format: "email", email: "Jane.Smith@example.com" })).toBe(true);
    expect(match({ format: "email", email: "jane.smith@example.com" })).toBe(false);
    expect(match({ format: "email", email: "Jane.Smith@example.org" })).toBe(false);
    expect(match({ format: "email", email: "Jane.Smith@example.com" }, { ...session, email: undefined })).toBe(false);
  });

  it("opaque matches Lockstep's session id or the IdP's sid", () => {
    expect(match(thisSession)).toBe(true);
    expect(match({ format: "opaque", id: "idp-sid-1" })).toBe(true);
    expect(match({ format: "opaque", id: "idp-sid-1" }, { ...session, sid: undefined })).toBe(false);
    expect(match(otherSession)).toBe(false);
    expect(match({ format: "opaque", id: session.sub })).toBe(false);
  });

  it("aliases match when any of their identifiers does", () => {
    expect(match({ format: "aliases", identifiers: [{ format: "email", email: "x@example.com" }, issSub] })).toBe(true);
    expect(match({ format: "aliases", identifiers: [{ format: "email", email: "x@example.com" }, otherUser] })).toBe(false);
  });

  it("other formats never match", () => {
    for (const subject of [
      { format: "account", uri: "acct:248289761001@idp.example.com" },
      { format: "phone_number", phone_number: "+12065550100" },
      { format: "did", url: "did:example:248289761001" },
      { format: "uri", uri: "https://idp.example.com/248289761001" },
      { format: "jwt_id", iss: session.iss, jti: session.lsid },
      { format: "saml_assertion_id", issuer: session.iss, assertion_id: session.lsid },
      { format: "ip-addresses", "ip-addresses": ["10.0.0.1"] },
      { format: "x-proprietary", id: session.lsid },
    ]) {
      expect(match(subject), subject.format).toBe(false);
    }
  });

  it("complex: the user and session members must both match (intersection)", () => {
    expect(match({ format: "complex", user: issSub, session: thisSession })).toBe(true);
    expect(match({ format: "complex", user: issSub, session: otherSession })).toBe(false);
    expect(match({ format: "complex", user: otherUser, session: thisSession })).toBe(false);
  });

  it("complex: a user member is compared with the user, a session member with the session ids", () => {
    expect(match({ format: "complex", user: issSub })).toBe(true);
    expect(match({ format: "complex", user: { format: "email", email: "Jane.Smith@example.com" } })).toBe(true);
    expect(match({ format: "complex", session: { format: "opaque", id: "idp-sid-1" } })).toBe(true);
    // A session id in the user slot, or a user in the session slot, is not that thing.
    expect(match({ format: "complex", user: thisSession })).toBe(false);
    expect(match({ format: "complex", session: issSub })).toBe(false);
    expect(
      match({
        format: "complex",
        user: { format: "aliases", identifiers: [otherUser, issSub] },
        session: { format: "aliases", identifiers: [thisSession] },
      }),
    ).toBe(true);
  });

  it("complex: device, application, tenant, org_unit and group are not known to a session and are ignored (SSF §8.1.3.1)", () => {
    const wildcards = {
      device: { format: "opaque", id: "d" },
      application: { format: "opaque", id: "a" },
      tenant: { format: "opaque", id: "t" },
      org_unit: { format: "opaque", id: "o" },
      group: { format: "x-group", id: "g" },
    };
    expect(match({ format: "complex", user: issSub, ...wildcards })).toBe(true);
    expect(match({ format: "complex", user: otherUser, ...wildcards })).toBe(false);
  });

  it("complex: with neither user nor session it matches no session, so a device-wide event ends nothing", () => {
    expect(match({ format: "complex", device: { format: "opaque", id: session.lsid }, tenant: { format: "opaque", id: "t" } })).toBe(false);
  });
});

describe("subjectKey", () => {
  it("describes the shape without identifiers or personal data", () => {
    const subject = parseSubject({
      format: "complex",
      session: { format: "opaque", id: "dMTlD|1600802906337" },
      user: { format: "email", email: "jane@example.com" },
      device: { format: "x-device", serial: "SN-1" },
    });
    const key = subjectKey(subject);
    expect(key).toBe("complex(user:email,device:unknown(x-device),session:opaque)");
    expect(key).not.toMatch(/jane|dMTlD|SN-1/);
  });

  it("does not echo an unknown format name that could carry data or break a log line", () => {
    expect(subjectKey(parseSubject({ format: "jane@example.com\nlevel=admin", id: "1" }))).toBe("unknown(?)");
    expect(subjectKey(parseSubject({ subject_type: "id-token-claims", sub: "x" }))).toBe("unknown(id-token-claims)");
  });
});
