/**
 * The challenges of a WWW-Authenticate header (RFC 9110 §11.6.1): `scheme` lowercased, each
 * auth-param's value (token or quoted-string, RFC 9110 §5.6.4) by lowercased name. Lenient: what it
 * cannot read it skips, so that a malformed header is simply no challenge.
 */
export type Challenge = { scheme: string; params: Record<string, string> };

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

export function parseChallenges(value: string | undefined): Challenge[] {
  if (!value) return [];
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (chars: string) => {
    while (i < value.length && chars.includes(value[i]!)) i += 1;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const match = TOKEN.exec(value);
    if (!match) return undefined;
    i = TOKEN.lastIndex;
    return match[0];
  };
  while (i < value.length) {
    skip(" \t,");
    const name = token();
    if (name === undefined) {
      i += 1;
      continue;
    }
    const at = i;
    skip(" \t");
    if (value[i] !== "=" || !current) {
      i = at;
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
      continue;
    }
    i += 1;
    skip(" \t");
    let param = "";
    if (value[i] === '"') {
      i += 1;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === "\\") i += 1;
        param += value[i] ?? "";
        i += 1;
      }
      i += 1;
    } else param = token() ?? "";
    current.params[name.toLowerCase()] ??= param;
  }
  return out;
}

/** RFC 6750 §3.1 (and RFC 9449 §7.1 for DPoP): the server says the access token is expired, revoked or otherwise bad. */
export function saysInvalidToken(challenges: readonly Challenge[]): boolean {
  return challenges.some((c) => (c.scheme === "bearer" || c.scheme === "dpop") && c.params.error === "invalid_token");
}

/** RFC 9449 §9: the resource server wants a proof with its nonce (given in DPoP-Nonce). */
export function saysUseDpopNonce(challenges: readonly Challenge[]): boolean {
  return challenges.some((c) => c.scheme === "dpop" && c.params.error === "use_dpop_nonce");
}
