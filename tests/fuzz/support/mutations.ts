import type { KeyObject } from "node:crypto";
import { b64u, compact, compactSegments, J, objectText, unb64u, withMember, without, type Alg, type Keys, type Members } from "./jws";
import type { Case, Effect, Expect, Family } from "./harness";
import type { Rng } from "./prng";

/**
 * The mutation families every JWS receiver gets: the JOSE header (RFC 7515 §4), the signature
 * (§5.2) and the compact encoding (§3.1, §7.1). The claims family is each receiver's own.
 * Every mutation says, as it is made, whether the input must be refused or may be accepted.
 */

/** A valid token as members, and what it does to the one live session when accepted. */
export type Template = { header: Members; claims: Members; effect: Effect; jti: string };

/** The typ values a receiver must take, must refuse, or may do either with (undefined: no typ member). */
export type TypRules = { accept: readonly (string | undefined)[]; refuse: readonly unknown[]; either: readonly unknown[] };

export type Profile = { keys: Keys; typ: TypRules };

type Made = { name: string; raw: string; expect: Expect; effect?: Effect; keys?: Case["keys"] };
const made = (family: Family, tpl: Template, m: Made): Case => ({ family, jti: tpl.jti, ...m, effect: m.effect ?? tpl.effect });

/** Signs a template (or a variant of its header or payload) with the issuer's key, RS256 unless told. */
export function issue(
  p: Profile,
  header: Members | string,
  payload: Members | string | Uint8Array,
  alg: Alg = "RS256",
  key: KeyObject | Uint8Array = p.keys.issuer,
): string {
  return compact(
    typeof header === "string" ? header : objectText(header),
    Array.isArray(payload) ? objectText(payload) : payload,
    alg,
    key,
  );
}

const segments = (token: string) => token.split(".") as [string, string, string];

/** Values of every JSON type, for "wrong type" mutations. */
export const oddValues = (original: unknown): unknown[] => [
  123,
  0,
  -1,
  1.5,
  true,
  false,
  null,
  [],
  {},
  "",
  "x",
  [original],
  { value: original },
];

/** Strings that look like something else: unicode, control characters, homoglyphs, bidi marks. */
export const UNICODE = [
  "é",
  "😀",
  "\u0000",
  "\u202e",
  "\u200b",
  "\ufeff",
  "\u2028",
  "а",
  "ß",
  "\ud83d\ude00",
  "ﬀ",
  "İ",
  "\u0301",
  "𝒶",
  "中文",
];

function invalidUtf8(rng: Rng): Uint8Array {
  return rng.pick([
    Uint8Array.of(0xff),
    Uint8Array.of(0xc0, 0x80),
    Uint8Array.of(0xed, 0xa0, 0x80),
    Uint8Array.of(0xf8, 0x88, 0x80, 0x80, 0x80),
    Uint8Array.of(0xe2, 0x82),
    Uint8Array.of(0x80),
  ]);
}

/** JSON text with raw bytes spliced into a string member: `{...,"name":"<bytes>"}`. */
export function withBytes(m: Members, name: string, bytes: Uint8Array): Uint8Array {
  const text = objectText(without(m, name));
  const head = new TextEncoder().encode(`${text.slice(0, -1)}${m.length > 1 || text !== "{}" ? "," : ""}${J(name)}:"`);
  const tail = new TextEncoder().encode('"}');
  const out = new Uint8Array(head.length + bytes.length + tail.length);
  out.set(head);
  out.set(bytes, head.length);
  out.set(tail, head.length + bytes.length);
  return out;
}

/** A JSON value nested `depth` deep. */
export const nested = (depth: number, kind: "array" | "object", leaf = "1"): string =>
  kind === "array" ? `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;

// ---------------------------------------------------------------- header (RFC 7515 §4)

export function headerCase(rng: Rng, tpl: Template, p: Profile): Case {
  const h = tpl.header;
  const payload = objectText(tpl.claims);
  const sign = (header: Members | string | Uint8Array, alg: Alg = "RS256", key: KeyObject | Uint8Array = p.keys.issuer) =>
    compact(header instanceof Uint8Array ? header : typeof header === "string" ? header : objectText(header), payload, alg, key);
  const c = (m: Made) => made("header", tpl, m);
  const ops: (() => Case)[] = [
    () => {
      // RFC 7515 §4.1.1 and the receiver's one expected alg: genuinely signed with the issuer's RSA key or its published EC key.
      const [alg, key, kid] = rng.pick([
        ["RS384", p.keys.issuer, "k1"],
        ["RS512", p.keys.issuer, "k1"],
        ["PS256", p.keys.issuer, "k1"],
        ["ES256", p.keys.ec, "k2"],
        ["ES256", p.keys.ec, undefined],
      ] as const);
      const header = kid ? withMember(withMember(h, "alg", J(alg)), "kid", J(kid)) : without(withMember(h, "alg", J(alg)), "kid");
      return c({
        name: `alg ${alg}, signed with a published key${kid ? ` (kid ${kid})` : ""}`,
        raw: sign(header, alg, key),
        expect: "refuse",
      });
    },
    () => {
      const v = rng.pick([
        "rs256",
        "RS256 ",
        " RS256",
        "",
        "RS 256",
        "RS256\u0000",
        256,
        null,
        true,
        ["RS256"],
        { alg: "RS256" },
        "none",
        "None",
        "NONE",
        "HS256",
        "HS512",
        "ES256",
        "EdDSA",
        "RSA-OAEP",
        "dir",
        "PS256",
      ]);
      return c({ name: `alg ${J(v)} on an RS256 signature`, raw: sign(withMember(h, "alg", J(v))), expect: "refuse" });
    },
    () => c({ name: "alg removed", raw: sign(without(h, "alg")), expect: "refuse" }),
    () => {
      const list = rng.pick((["accept", "refuse", "either"] as const).filter((l) => p.typ[l].length > 0));
      const v = rng.pick(p.typ[list] as unknown[]);
      const header = v === undefined ? without(h, "typ") : withMember(h, "typ", J(v));
      return c({ name: v === undefined ? "typ removed" : `typ ${J(v)}`, raw: sign(header), expect: list });
    },
    () => {
      if (rng.chance(0.25)) return c({ name: "kid removed (one RSA key in the set)", raw: sign(without(h, "kid")), expect: "accept" });
      const v = rng.pick([
        "",
        "k2",
        "k3",
        "K1",
        "k1 ",
        " k1",
        "k1\u0000",
        "kі1",
        rng.id("kid"),
        1,
        0,
        null,
        true,
        ["k1"],
        { kid: "k1" },
        "k".repeat(rng.int(300, 9000)),
        "../k1",
      ]);
      return c({ name: `kid ${J(v).slice(0, 40)}`, raw: sign(withMember(h, "kid", J(v))), expect: "refuse" });
    },
    () => {
      // RFC 7515 §4.1.11: an extension the receiver does not understand, or a malformed crit, makes the JWS invalid.
      const [name, header, expect] = rng.pick<[string, Members, Expect]>([
        ['crit ["x-ext"] (not understood)', [...h, ["crit", J(["x-ext"])], ["x-ext", J(true)]], "refuse"],
        ['crit ["x-ext"] (member missing)', [...h, ["crit", J(["x-ext"])]], "refuse"],
        ["crit []", [...h, ["crit", "[]"]], "refuse"],
        ['crit "x-ext"', [...h, ["crit", J("x-ext")], ["x-ext", J(1)]], "refuse"],
        ['crit [""]', [...h, ["crit", J([""])]], "refuse"],
        ["crit [1]", [...h, ["crit", "[1]"]], "refuse"],
        ["crit null", [...h, ["crit", "null"]], "refuse"],
        ['crit ["x-ext","x-ext"]', [...h, ["crit", J(["x-ext", "x-ext"])], ["x-ext", J(1)]], "refuse"],
        // §4.1.11: a recipient MAY refuse a crit naming a parameter the spec defines.
        ['crit ["kid"]', [...h, ["crit", J(["kid"])]], "either"],
        ['crit ["b64"], b64 true', [...h, ["crit", J(["b64"])], ["b64", "true"]], "either"],
        ['crit ["b64"], b64 false', [...h, ["crit", J(["b64"])], ["b64", "false"]], "refuse"],
      ]);
      return c({ name, raw: sign(header), expect });
    },
    () => {
      // RFC 7515 §4: parameters that are not understood MUST be ignored.
      const name = rng.pick(["x-extra", "exp", "iss", "sub", "__proto__", "constructor", rng.chars(rng.int(1, 20))]);
      const v = rng.pick<unknown>([1, "v", null, [], {}, { deep: [1, { a: null }] }, rng.pick(UNICODE), "x".repeat(rng.int(1, 4000))]);
      if (h.some(([k]) => k === name))
        return c({ name: "extra member (name taken)", raw: sign([...h, ["x-extra", J(v)]]), expect: "accept" });
      return c({ name: `extra member ${J(name).slice(0, 30)}`, raw: sign([...h, [name, J(v)]]), expect: "accept" });
    },
    () => {
      // Registered members a receiver may ignore (keys come from its configured key set) or may refuse.
      const [name, v] = rng.pick<[string, unknown]>([
        ["jku", "https://attacker.example/jwks.json"],
        ["x5u", "https://attacker.example/cert.pem"],
        ["x5c", ["MIIB"]],
        ["x5t", "dGh1bWI"],
        ["jwk", p.keys.attackerPublicJwk],
        ["cty", "JWT"],
        ["zip", "DEF"],
        ["enc", "A256GCM"],
        ["b64", false],
        ["url", "https://attacker.example/"],
      ]);
      return c({ name: `header ${name} ${J(v).slice(0, 30)}`, raw: sign([...h, [name, J(v)]]), expect: "either" });
    },
    () => {
      const text = rng.pick(["[]", "null", "1", '"RS256"', "{}", "true", `[${objectText(h)}]`, "", "{", `${objectText(h)}x`]);
      return c({ name: `header JSON ${text.slice(0, 30)}`, raw: sign(text), expect: "refuse" });
    },
    () => {
      // RFC 7515 §5.2 step 4: duplicate names are refused, or the last one wins.
      const name = rng.pick(["alg", "typ", "kid"].filter((n) => h.some(([k]) => k === n)));
      const bad =
        name === "alg"
          ? rng.pick(["none", "HS256", "ES256"])
          : name === "kid"
            ? "nope"
            : rng.pick(p.typ.refuse.filter((v) => v !== undefined) as unknown[]);
      if (rng.chance(0.5)) return c({ name: `duplicate ${name}, ${J(bad)} first`, raw: sign([[name, J(bad)], ...h]), expect: "either" });
      return c({ name: `duplicate ${name}, ${J(bad)} last`, raw: sign([...h, [name, J(bad)]]), expect: "refuse" });
    },
    () => {
      const object = Object.fromEntries(h.map(([k, v]) => [k, JSON.parse(v) as unknown]));
      const [name, text] = rng.pick<[string, string]>([
        ["pretty-printed", JSON.stringify(object, null, 2)],
        ["members reversed", objectText([...h].reverse())],
        ["names escaped", objectText(h).replace('"alg"', '"\\u0061lg"').replace('"kid"', '"\\u006bid"')],
        ["values escaped", objectText(h).replace('"RS256"', '"\\u0052S256"')],
        ["surrounding whitespace", ` \n\t${objectText(h)}\r\n `],
      ]);
      return c({ name: `header ${name}`, raw: sign(text), expect: "accept" });
    },
    () => c({ name: "invalid UTF-8 in a header member", raw: sign(withBytes(h, "x-bytes", invalidUtf8(rng))), expect: "refuse" }),
    // RFC 8259 §8.1: a parser MAY ignore a byte order mark.
    () => c({ name: "UTF-8 BOM before the header", raw: sign(`\ufeff${objectText(h)}`), expect: "either" }),
    () => {
      const n = rng.int(1_000, 60_000);
      return c({ name: `huge extra header member (${n} chars)`, raw: sign([...h, ["x-pad", J(rng.chars(n))]]), expect: "accept" });
    },
    () => {
      const u = rng.pick(UNICODE);
      const typ = h.find(([k]) => k === "typ");
      if (typ && rng.chance(0.5)) {
        const v = (JSON.parse(typ[1]) as string) + u;
        return c({ name: `typ ${J(v)}`, raw: sign(withMember(h, "typ", J(v))), expect: "refuse" });
      }
      return c({ name: `unicode extra header member ${J(u)}`, raw: sign([...h, ["x-u", J(`${u}${u}`)]]), expect: "accept" });
    },
  ];
  return rng.pick(ops)();
}

// ---------------------------------------------------------------- signature (RFC 7515 §5.2)

const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const out = new Uint8Array(bytes);
  const i = Math.floor(bit / 8);
  out[i] = (out[i] as number) ^ (1 << (bit % 8));
  return out;
};

export function signatureCase(rng: Rng, tpl: Template, p: Profile): Case {
  const valid = issue(p, tpl.header, tpl.claims);
  const [hs, ps, ss] = segments(valid);
  const sig = unb64u(ss);
  const c = (m: Made) => made("signature", tpl, m);
  const headerWith = (alg: string, kid?: string) => {
    const m = withMember(tpl.header, "alg", J(alg));
    return kid === undefined ? without(m, "kid") : withMember(m, "kid", J(kid));
  };
  const ops: (() => Case)[] = [
    () => {
      const bit = rng.int(0, sig.length * 8 - 1);
      return c({ name: `signature bit ${bit} flipped`, raw: `${hs}.${ps}.${b64u(flipBit(sig, bit))}`, expect: "refuse" });
    },
    () => {
      const bytes = unb64u(ps);
      const bit = rng.int(0, bytes.length * 8 - 1);
      return c({ name: `payload bit ${bit} flipped, signature kept`, raw: `${hs}.${b64u(flipBit(bytes, bit))}.${ss}`, expect: "refuse" });
    },
    () => {
      const bytes = unb64u(hs);
      const bit = rng.int(0, bytes.length * 8 - 1);
      return c({ name: `header bit ${bit} flipped, signature kept`, raw: `${b64u(flipBit(bytes, bit))}.${ps}.${ss}`, expect: "refuse" });
    },
    () => {
      const n = rng.chance(0.2) ? 0 : rng.int(1, sig.length - 1);
      return c({
        name: n === 0 ? "signature empty" : `signature truncated to ${n} bytes`,
        raw: `${hs}.${ps}.${b64u(sig.slice(0, n))}`,
        expect: "refuse",
      });
    },
    () => {
      const extra = rng.bytes(rng.int(1, 64));
      return c({
        name: `signature extended by ${extra.length} bytes`,
        raw: `${hs}.${ps}.${b64u(Uint8Array.from([...sig, ...extra]))}`,
        expect: "refuse",
      });
    },
    () => c({ name: "signature all zero", raw: `${hs}.${ps}.${b64u(new Uint8Array(sig.length))}`, expect: "refuse" }),
    () => {
      // Another genuine token's signature, and another genuine token's payload under this signature.
      const other = segments(issue(p, tpl.header, [...tpl.claims, ["x-other", J(rng.id("o"))]]));
      return rng.chance(0.5)
        ? c({ name: "signature of another token", raw: `${hs}.${ps}.${other[2]}`, expect: "refuse" })
        : c({ name: "payload of another token", raw: `${hs}.${other[1]}.${ss}`, expect: "refuse" });
    },
    () => {
      const kid = rng.pick(["k1", undefined, "attacker"]);
      return c({
        name: `signed by an unpublished key, kid ${J(kid)}`,
        raw: issue(p, headerWith("RS256", kid), tpl.claims, "RS256", p.keys.attacker),
        expect: "refuse",
      });
    },
    () =>
      c({
        name: "signed by an unpublished key that the header embeds (jwk)",
        raw: issue(
          p,
          [...headerWith("RS256", rng.pick(["k1", undefined])), ["jwk", J(p.keys.attackerPublicJwk)]],
          tpl.claims,
          "RS256",
          p.keys.attacker,
        ),
        expect: "refuse",
      }),
    () => {
      // RFC 7518 §3.6, RFC 8725 §2.1: unsecured JWS.
      const alg = rng.pick(["none", "None", "NONE", "nOnE"]);
      const keep = rng.chance(0.3);
      const header = objectText(without(withMember(tpl.header, "alg", J(alg)), "kid"));
      return c({
        name: `alg ${alg}, ${keep ? "original signature" : "empty signature"}`,
        raw: `${b64u(header)}.${ps}.${keep ? ss : ""}`,
        expect: "refuse",
      });
    },
    () => {
      // RFC 8725 §2.1: HMAC keyed with the issuer's public key (the RS256/HS256 confusion).
      const [form, secret] = rng.pick<[string, Uint8Array]>([
        ["PEM", new TextEncoder().encode(p.keys.issuerPublicPem)],
        ["DER", p.keys.issuerPublicDer],
        ["JWK JSON", new TextEncoder().encode(J(p.keys.issuerPublicJwk))],
        ["modulus", unb64u(p.keys.issuerPublicJwk.n as string)],
      ]);
      return c({
        name: `HS256 keyed with the public key (${form})`,
        raw: issue(p, headerWith("HS256", rng.pick(["k1", undefined])), tpl.claims, "HS256", secret),
        expect: "refuse",
      });
    },
    () => {
      const [alg, key] = rng.pick<[Alg, KeyObject]>([
        ["ES256", p.keys.ec],
        ["PS256", p.keys.issuer],
        ["RS384", p.keys.issuer],
      ]);
      const other = segments(issue(p, tpl.header, tpl.claims, alg, key));
      return c({ name: `${alg} signature under an RS256 header`, raw: `${hs}.${ps}.${other[2]}`, expect: "refuse" });
    },
    () => {
      // The issuer also publishes a legacy 1024-bit key (kid k3): RFC 7518 §3.3 requires 2048 bits for RS256.
      const byWeak = rng.chance(0.5);
      return c({
        name: `kid k3 (a published 1024-bit RSA key), signed by ${byWeak ? "it" : "the issuer's key"}`,
        raw: issue(p, headerWith("RS256", "k3"), tpl.claims, "RS256", byWeak ? p.keys.weak : p.keys.issuer),
        expect: "refuse",
        keys: "with-weak-key",
      });
    },
  ];
  return rng.pick(ops)();
}

// ---------------------------------------------------------------- encoding (RFC 7515 §2, §3.1, §7.1)

const insertAt = (s: string, i: number, t: string) => `${s.slice(0, i)}${t}${s.slice(i)}`;
const WHITESPACE = [" ", "\t", "\n", "\r", "\r\n"];
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export function encodingCase(rng: Rng, tpl: Template, p: Profile): Case {
  const valid = issue(p, tpl.header, tpl.claims);
  const [hs, ps, ss] = segments(valid);
  const c = (m: Made) => made("encoding", tpl, m);
  const ops: (() => Case)[] = [
    () => {
      // A character outside base64url in the header or payload: the signing input changes with it.
      const ch = rng.pick(["+", "/", "=", "*", "!", "%", "~", "\\", '"', "\u0000", "é", "😀", "\u00ff", "\u2028", ...WHITESPACE]);
      const which = rng.pick([0, 1]);
      const seg = which === 0 ? hs : ps;
      const mutated = insertAt(seg, rng.int(0, seg.length), ch);
      return c({
        name: `${J(ch)} in the ${which === 0 ? "header" : "payload"}`,
        raw: which === 0 ? `${mutated}.${ps}.${ss}` : `${hs}.${mutated}.${ss}`,
        expect: "refuse",
      });
    },
    () => {
      const ch = rng.pick(["+", "/", "*", "!", "%", "~", "\\", '"', "\u0000", "é", "😀", "\u00ff", "A", "-", "_"]);
      const i = rng.int(0, ss.length - 1);
      return c({ name: `${J(ch)} in the signature at ${i}`, raw: `${hs}.${ps}.${insertAt(ss, i, ch)}`, expect: "refuse" });
    },
    () => {
      // RFC 7515 §2 forbids whitespace and padding; RFC 4648 §3.3 lets a decoder skip them, and the signed bytes are the same.
      const ws = rng.pick(WHITESPACE);
      const [name, token] = rng.pick<[string, string]>([
        ["whitespace inside the signature", `${hs}.${ps}.${insertAt(ss, rng.int(0, ss.length), ws)}`],
        ["whitespace after the token", `${valid}${ws}`],
        ["padding on the signature", `${ss.length % 4 === 0 ? `${valid}` : `${valid}${"=".repeat(4 - (ss.length % 4))}`}`],
        ["non-canonical last signature character", `${hs}.${ps}.${ss.slice(0, -1)}${B64URL[B64URL.indexOf(ss.at(-1) as string) ^ 1]}`],
      ]);
      return c({ name, raw: token, expect: "either" });
    },
    () => {
      // The issuer's own quirks: segments signed as written, but not base64url as RFC 7515 §2 defines it.
      const header = b64u(objectText(tpl.header));
      const payload = b64u(objectText(tpl.claims));
      const std = (s: string) => Buffer.from(s, "base64url").toString("base64");
      const [name, h2, p2] = rng.pick<[string, string, string]>([
        [
          "padded segments, signed as padded",
          std(header).replace(/[+/]/g, (x) => (x === "+" ? "-" : "_")),
          std(payload).replace(/[+/]/g, (x) => (x === "+" ? "-" : "_")),
        ],
        ["line breaks every 64 characters, signed so", header, payload.replace(/(.{64})/g, "$1\n")],
        ["standard base64 alphabet, signed so", std(header), std(payload)],
      ]);
      const expect: Expect = name.startsWith("standard") && /[+/]/.test(`${h2}${p2}`) ? "refuse" : "either";
      return c({ name, raw: compactSegments(h2, p2, "RS256", p.keys.issuer), expect });
    },
    () => {
      const [name, token] = rng.pick<[string, string]>([
        ["leading dot", `.${valid}`],
        ["trailing dot", `${valid}.`],
        ["doubled dot", valid.replace(".", "..")],
        [
          "dot inside a segment",
          (() => {
            const i = rng.int(1, valid.length - 1);
            return insertAt(valid, i, ".");
          })(),
        ],
        ["token twice, dot-joined", `${valid}.${valid}`],
        ["dots only", ".".repeat(rng.int(1, 8))],
      ]);
      return c({ name, raw: token, expect: "refuse" });
    },
    () => {
      // RFC 7516 §7.1: five parts are a JWE; neither receiver has a decryption key registered.
      const jweHeader = b64u(J({ alg: "RSA-OAEP-256", enc: "A256GCM", kid: "k1", cty: "JWT" }));
      const [name, token] = rng.pick<[string, string]>([
        ["JWE-shaped: valid JWS and two empty parts", `${valid}..`],
        ["JWE-shaped: JWE header and random parts", [jweHeader, ...[40, 16, rng.int(20, 400), 22].map((n) => rng.chars(n))].join(".")],
        ["JWE-shaped: five random parts", Array.from({ length: 5 }, () => rng.chars(rng.int(0, 60))).join(".")],
        [
          "JWE-shaped: direct encryption header",
          [b64u(J({ alg: "dir", enc: "A128GCM" })), "", rng.chars(16), rng.chars(200), rng.chars(22)].join("."),
        ],
      ]);
      return c({ name, raw: token, expect: "refuse" });
    },
    () => {
      const [name, token] = rng.pick<[string, string]>([
        ["header only", hs],
        ["header.payload", `${hs}.${ps}`],
        ["payload only", ps],
        ["signature dropped", `${hs}.${ps}.`],
        ["header dropped", `.${ps}.${ss}`],
        ["payload dropped", `${hs}..${ss}`],
        ["empty string", ""],
        ["many parts", Array.from({ length: rng.int(6, 12) }, () => rng.chars(rng.int(1, 40))).join(".")],
      ]);
      return c({ name, raw: token, expect: "refuse" });
    },
    () => c({ name: "whitespace before the token", raw: `${rng.pick(WHITESPACE)}${valid}`, expect: "refuse" }),
    () => {
      const i = rng.int(0, valid.length - 1);
      const ch = rng.pick(["é", "ü", "😀", "\u00a0", "中", "\u0301", "ｅ"]);
      const replaced = `${valid.slice(0, i)}${ch}${valid.slice(i + 1)}`;
      // Replacing a dot changes the part count; anything else breaks a segment.
      return c({ name: `character ${i} replaced by ${J(ch)}`, raw: replaced, expect: "refuse" });
    },
    () => {
      const n = rng.int(1_000, 70_000);
      return rng.chance(0.5)
        ? c({
            name: `${n} random base64url characters as a three-part token`,
            raw: `${rng.chars(Math.floor(n / 3))}.${rng.chars(Math.floor(n / 3))}.${rng.chars(Math.floor(n / 3))}`,
            expect: "refuse",
          })
        : c({
            name: `valid header and signature around ${n} random payload characters`,
            raw: `${hs}.${rng.chars(n)}.${ss}`,
            expect: "refuse",
          });
    },
    () => {
      const n = rng.int(10_000, 69_000);
      return c({
        name: `valid token of ~${Math.round(n / 1000)} KB (padding claim)`,
        raw: issue(p, tpl.header, [...tpl.claims, ["x-pad", J(rng.chars(n))]]),
        expect: "accept",
      });
    },
    () => {
      const n = rng.int(1, 4096);
      const bytes = rng.bytes(n);
      const [name, token] = rng.pick<[string, string]>([
        [`${n} random bytes as latin1`, String.fromCharCode(...bytes)],
        [`${n} random bytes as UTF-8 (lossy)`, new TextDecoder().decode(bytes)],
        [
          `${n} random bytes, base64url, dot-joined in three`,
          `${b64u(bytes.slice(0, n / 3))}.${b64u(bytes.slice(n / 3, (2 * n) / 3))}.${b64u(bytes.slice((2 * n) / 3))}`,
        ],
        [`${n} random characters from the token's alphabet and dots`, rng.chars(n, `${B64URL}.`)],
      ]);
      return c({ name, raw: token, expect: "refuse" });
    },
    () => {
      const [name, token] = rng.pick<[string, string]>([
        ["JWS JSON serialization", J({ protected: hs, payload: ps, signature: ss })],
        ["percent-encoded dots", valid.replaceAll(".", "%2E")],
        ["quoted", `"${valid}"`],
        ["Bearer prefix", `Bearer ${valid}`],
        ["form-encoded", `logout_token=${valid}`],
        ["header and payload swapped", `${ps}.${hs}.${ss}`],
        ["base64url of the whole token", b64u(valid)],
      ]);
      return c({ name, raw: token, expect: "refuse" });
    },
  ];
  return rng.pick(ops)();
}

/** A mutation of a claims set (the payload), before it is classified against the receiver's rules. */
export type ClaimsMutation = { name: string; payload: string | Uint8Array; expect?: Expect; effect?: Effect; duplicate?: true };

/**
 * Mutations of the claims set's JSON itself, whatever the token: bytes that are not UTF-8, a byte
 * order mark, the same claims reformatted, a payload that is not one object, and an extra claim.
 * `utf8Claims` are the claims to break the UTF-8 of; `extraNames` the names to add a claim under
 * (one that is already there is added as "x-extra"); `foreign` a value naming someone else.
 */
export function jsonShapeMutations(
  rng: Rng,
  m: Members,
  opts: { utf8Claims: string[]; extraNames: string[]; foreign: unknown },
): (() => ClaimsMutation)[] {
  const { present, short } = claimsEditor(m);
  return [
    () => {
      // RFC 7519 §7.2 step 10: the claims set is a UTF-8 JSON object.
      const k = rng.pick(opts.utf8Claims);
      const bytes = rng.pick([
        Uint8Array.of(0xff),
        Uint8Array.of(0xc0, 0x80),
        Uint8Array.of(0xed, 0xa0, 0x80),
        Uint8Array.of(0xe2, 0x82),
        Uint8Array.of(0x80),
      ]);
      return {
        name: `invalid UTF-8 (${[...bytes].map((b) => b.toString(16)).join(" ")}) in ${k}`,
        payload: withBytes(m, k, bytes),
        expect: "refuse",
      };
    },
    // RFC 8259 §8.1: a parser MAY ignore a byte order mark.
    () => ({ name: "UTF-8 BOM before the claims", payload: `\ufeff${objectText(m)}`, expect: "either" }),
    () => {
      const object = Object.fromEntries(m.map(([k, v]) => [k, JSON.parse(v) as unknown]));
      const [name, text] = rng.pick<[string, string]>([
        ["pretty-printed", JSON.stringify(object, null, 2)],
        ["members reversed", objectText([...m].reverse())],
        ["names escaped", objectText(m).replace('"iss"', '"\\u0069ss"').replace('"events"', '"\\u0065vents"')],
        ["values escaped", objectText(m).replace('"alice"', '"\\u0061lice"').replace('"sid-1"', '"\\u0073id-1"')],
        ["surrounding whitespace", `\n\t ${objectText(m)} \r\n`],
      ]);
      return { name: `claims ${name}`, payload: text };
    },
    () => {
      const text = rng.pick([
        "[]",
        "null",
        '"claims"',
        "1",
        "",
        "{",
        "{}",
        `${objectText(m)}x`,
        `[${objectText(m)}]`,
        "true",
        `${objectText(m)}${objectText(m)}`,
      ]);
      return { name: `claims JSON ${text.slice(0, 30)}`, payload: text };
    },
    () => {
      const name = rng.pick([...opts.extraNames, "__proto__", "constructor", "toString", "hasOwnProperty", rng.chars(rng.int(1, 30))]);
      const v = rng.pick<unknown>([1, "v", null, [], {}, opts.foreign, true]);
      if (present.includes(name)) return { name: "extra claim (name taken)", payload: objectText([...m, ["x-extra", J(v)]]) };
      return { name: `extra claim ${J(name).slice(0, 30)}: ${short(v)}`, payload: objectText([...m, [name, J(v)]]) };
    },
  ];
}

/** Reads and edits of one claims set as JSON text: each edit returns the whole set with one member changed. */
export function claimsEditor(m: Members) {
  return {
    present: m.map(([k]) => k),
    value: (name: string): unknown => {
      const found = m.find(([k]) => k === name);
      return found ? JSON.parse(found[1]) : undefined;
    },
    set: (name: string, v: unknown) => objectText(withMember(m, name, J(v))),
    setRaw: (name: string, text: string) => objectText(withMember(m, name, text)),
    short: (v: unknown) => (v === undefined ? "absent" : J(v).slice(0, 40)),
  };
}

/** One case of a family drawn at random: the JOSE families are shared, the claims family is the receiver's own. */
export function anyFamilyCase(rng: Rng, tpl: Template, p: Profile, claimsCase: () => Case): Case {
  const family = rng.pick(["header", "claims", "signature", "encoding"] as const);
  if (family === "header") return headerCase(rng, tpl, p);
  if (family === "signature") return signatureCase(rng, tpl, p);
  if (family === "encoding") return encodingCase(rng, tpl, p);
  return claimsCase();
}

/** What the shared claims mutations need to know of a receiver's claims set. */
export type ClaimRules = {
  /** The receiver's "now", in seconds. */
  nowS: number;
  /** The NumericDate claims (RFC 7519 §2) the receiver judges, each with the offsets from now at which its verdict turns. */
  dates: Record<string, readonly number[]>;
  /** Values of a nonce claim to add (a logout token must carry none, BCL §2.6 step 7; the receiver's judge says). */
  nonces: readonly unknown[];
  /** String claims to make very long or to give unicode. */
  strings: readonly string[];
  /** A wrong value per claim, for a member given twice. */
  bad: Record<string, unknown>;
};

/**
 * Mutations of the claims every JWT receiver here judges alike: NumericDates at and around their
 * limits and in forms JSON allows, a date written as a string, a nonce, very long and unicode
 * strings, deep nesting, and a member given twice. The receiver's own claims (its event, its
 * subject) are its own test's.
 */
export function commonClaimMutations(rng: Rng, m: Members, rules: ClaimRules): (() => ClaimsMutation)[] {
  const { present, value, set, setRaw, short } = claimsEditor(m);
  const dates = Object.keys(rules.dates);
  return [
    () => {
      // RFC 7519 §2 NumericDate: any JSON number, fractions included, judged against now.
      const k = rng.pick(dates);
      const form = rng.pick(["offset", "boundary", "fraction", "raw"]);
      if (form === "raw") {
        // Extremes, then now and now+100 s in the other notations JSON allows.
        const now = rules.nowS;
        const text = rng.pick([
          "1e300",
          "-1e300",
          "9007199254740993",
          "1e21",
          "-0",
          "0",
          "-1",
          "1e999",
          "-1e999",
          `${now / 1e9}e9`,
          `${now / 1e8}e8`,
          `${now}.000`,
          `${now}E0`,
          `${now + 100}e0`,
        ]);
        return { name: `${k} ${text}`, payload: setRaw(k, text) };
      }
      const offset =
        form === "offset"
          ? rng.int(-5_000, 5_000)
          : form === "boundary"
            ? rng.pick(rules.dates[k] as readonly number[])
            : rng.int(-700, 700) + rng.float();
      return { name: `${k} now${offset >= 0 ? "+" : ""}${offset}`, payload: set(k, rules.nowS + offset) };
    },
    () => {
      const k = rng.pick(dates);
      const n = value(k) as number;
      const v = rng.pick([String(n), `${n}.0`, ` ${n}`, new Date(n * 1000).toISOString()]);
      return { name: `${k} as the string ${J(v)}`, payload: set(k, v) };
    },
    () => {
      const v = rng.pick(rules.nonces);
      return { name: `nonce ${short(v)} added`, payload: objectText([...m, ["nonce", J(v)]]) };
    },
    () => {
      const n = rng.int(1_000, 65_000);
      const k = rng.pick([...rules.strings, "x-pad"]);
      return { name: `${n}-character ${k}`, payload: set(k, rng.chars(n)) };
    },
    () => {
      const u = rng.pick(UNICODE);
      const k = rng.pick([...rules.strings, "x-unicode", "claim name", "lone surrogate"]);
      // RFC 8259 §8.2: a lone surrogate escape is valid JSON syntax, its meaning unpredictable.
      if (k === "lone surrogate")
        return { name: "jti with a lone surrogate escape", payload: setRaw("jti", '"j\\ud800x"'), expect: "either" };
      if (k === "claim name") return { name: `claim named ${J(u)}`, payload: objectText([...m, [u, J(u)]]) };
      const before = value(k);
      const v = `${typeof before === "string" ? before : "v"}${u}`;
      return { name: `${k} ${J(v)}`, payload: set(k, v) };
    },
    () => {
      const depth = rng.int(10, 3_000);
      const kind = rng.pick(["array", "object"] as const);
      return { name: `${kind} nested ${depth} deep in a claim`, payload: setRaw("x-nested", nested(depth, kind)) };
    },
    () => {
      // RFC 7519 §4, RFC 7515 §5.2: a member given twice is refused, or the last one wins.
      const k = rng.pick(present);
      const good = m.find(([name]) => name === k)?.[1] as string;
      const b = rng.chance(0.15) || !(k in rules.bad) ? good : J(rules.bad[k]);
      const first = rng.chance(0.5);
      const next: Members = first ? [[k, b], ...m] : [...m, [k, b]];
      return { name: `duplicate ${k}: ${b.slice(0, 30)} ${first ? "first" : "last"}`, payload: objectText(next), duplicate: true };
    },
  ];
}
