/**
 * What `npm run demo` and `npm run dev` print of their processes' output: one line per line, each under
 * the name of the process it came from, with nothing a browser or the IdP would treat as a credential
 * (an authorization code, a state, a token, a cookie), and the apps' security log one short line per
 * event instead of its JSON (DEMO_LOG=json prints the JSON as the app writes it).
 */

/** URL and form parameters that carry a credential or a one-time value of a sign-in or sign-out. */
const SECRET_PARAMS = [
  "code",
  "state",
  "session_state",
  "code_verifier",
  "id_token_hint",
  "logout_hint",
  "id_token",
  "access_token",
  "refresh_token",
  "logout_token",
  "token",
  "client_secret",
  "client_assertion",
  "request_uri",
];
const paramPattern = new RegExp(`([?&#;]|^|\\s)(${SECRET_PARAMS.join("|")})=([^&#\\s"';]+)`, "g");
/** JSON members that hold a credential. Not `code`: the security log's `code` is a result code. */
const jsonPattern =
  /"(id_token|access_token|refresh_token|logout_token|client_secret|token|cookie|authorization)"\s*:\s*"(?:[^"\\]|\\.)*"/gi;
/** An HTTP header as printed (`Cookie: a=b`): everything after the colon. */
const headerPattern = /\b(authorization|cookie|set-cookie|dpop)(\s*:\s*)("?)[^\s",;][^",]*/gi;
const schemePattern = /\b(Bearer|DPoP|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/g;
const jwtPattern = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

/** `line` with every credential-looking value replaced by "[redacted]". */
export function redact(line: string): string {
  return line
    .replace(jwtPattern, "[redacted]")
    .replace(paramPattern, (_m, lead: string, name: string) => `${lead}${name}=[redacted]`)
    .replace(jsonPattern, (_m, name: string) => `"${name}":"[redacted]"`)
    .replace(headerPattern, (_m, name: string, sep: string, quote: string) => `${name}${sep}${quote}[redacted]`)
    .replace(schemePattern, (_m, scheme: string) => `${scheme} [redacted]`);
}

/** The members of a security-log line that the short form leaves out (shown by DEMO_LOG=json). */
const OMITTED = new Set(["at", "kind", "event", "outcome", "code"]);

/**
 * A security-log line (lib/log/security-log.ts: one JSON object with `kind: "security"`) as one short line:
 * `security <event> <outcome> (<code>) key=value ...`. Anything else: undefined.
 */
export function shortSecurityLine(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof entry !== "object" || entry === null || (entry as { kind?: unknown }).kind !== "security") return undefined;
  const fields = entry as Record<string, unknown>;
  const rest = Object.entries(fields)
    .filter(([key, value]) => !OMITTED.has(key) && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  const code = typeof fields.code === "string" ? ` (${fields.code})` : "";
  return ["security", String(fields.event), `${String(fields.outcome)}${code}`, ...rest].join(" ");
}

const DELIVERY: Record<string, string> = { "urn:ietf:rfc:8935": "push", "urn:ietf:rfc:8936": "poll" };

/**
 * What `npm run ssf -- register` printed (scripts/ssf.ts: the stream as JSON, then "verification
 * requested", and any security-log lines of its own), as the lines the demo shows: the stream in one
 * sentence, then the rest.
 */
export function ssfRegisterLines(output: string): string[] {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  let stream: { stream_id?: unknown; aud?: unknown; delivery?: unknown; events_delivered?: unknown } | undefined;
  let verification = false;
  const rest: string[] = [];
  for (const line of lines) {
    if (line.trim() === "verification requested") {
      verification = true;
      continue;
    }
    if (!stream && line.startsWith("{") && line.includes('"stream_id"')) {
      try {
        stream = JSON.parse(line) as typeof stream;
        continue;
      } catch {
        // not the stream: shown as it is
      }
    }
    rest.push(line);
  }
  if (!stream) return lines;
  const delivery = typeof stream.delivery === "string" ? (DELIVERY[stream.delivery] ?? stream.delivery) : "unknown";
  const events = typeof stream.events_delivered === "number" ? `, ${stream.events_delivered} event types` : "";
  const summary = `Shared Signals stream ${String(stream.stream_id)} registered at the IdP (${delivery} to ${String(stream.aud)}${events})${
    verification ? "; verification requested" : ""
  }`;
  return [summary, ...rest];
}

export type LogFormat = "short" | "json";

/**
 * The lines to print for one piece of a process's output (which may hold several lines): each one
 * prefixed by its source (as `prefix(source)` renders it), redacted, and shortened where it is a
 * security-log line and `format` is "short".
 */
export function demoLines(source: string, text: string, options: { prefix: (source: string) => string; format?: LogFormat }): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const shown = options.format === "json" ? undefined : shortSecurityLine(line);
      return `${options.prefix(source)} ${redact(shown ?? line)}`;
    });
}
