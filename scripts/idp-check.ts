import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import nextEnv from "@next/env";
import { z } from "zod";
import { configSchema } from "../lib/config/schema";
import {
  conditionLabel,
  coverage,
  eventKindLabel,
  formatSeconds,
  livenessReason,
  mechanismLabel,
  statusLine,
  type Carrier,
  type CoverageReport,
  type CoverageSettings,
  type TransmitterFacts,
} from "../lib/liveness/coverage";
import type { IdpLogoutMetadata } from "../lib/liveness/plan";
import { shortName } from "../lib/ssf/policy";
import { streamConfigSchema } from "../lib/ssf/streams";
import { discoverTransmitter, type TransmitterConfig } from "../lib/ssf/transmitter-config";

/**
 * `npm run idp:check -- [<issuer URL>] [--json] [--file <path>] [--timeout <seconds>]`: what an IdP
 * tells Lockstep, read from its discovery document (OpenID Connect Discovery 1.0 §4), and, when
 * SSF_ISSUER is set, from its SSF transmitter (SSF §7.2; with SSF_MANAGEMENT_TOKEN, this receiver's
 * stream too, SSF §8.1.1.2, read only). Prints, per kind of event, the paths that carry it with their
 * worst-case delays, what nothing covers, and the liveness plan.
 *
 * The issuer defaults to OIDC_ISSUER. Settings come from the environment, then .env.local and .env (as
 * Next.js reads them); only the few this needs are read, with the app's own defaults, so a partial
 * configuration is enough. Nothing secret is printed.
 *
 * Exit codes: 0 done; 1 the document could not be read, or its issuer is not the one given;
 * 2 bad arguments or settings.
 */

const usage =
  "usage: npm run idp:check -- [<issuer URL>] [--json] [--file <discovery.json>] [--timeout <seconds>]   (the issuer defaults to OIDC_ISSUER)";

/** A failure that ends the run with one line on stderr. */
class CheckError extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    message: string,
  ) {
    super(message);
  }
}

const MAX_DOCUMENT_BYTES = 1024 * 1024;

/** Only the settings this reads, with the app's own rules and defaults (lib/config/schema.ts). */
const settingsSchema = z.object({
  OIDC_ISSUER: z.string().optional(),
  LIVENESS: configSchema.shape.LIVENESS,
  LIVENESS_INTERVAL_SECONDS: configSchema.shape.LIVENESS_INTERVAL_SECONDS,
  LIVENESS_METHOD: configSchema.shape.LIVENESS_METHOD,
  SSF_ISSUER: configSchema.shape.SSF_ISSUER,
  SSF_DELIVERY: configSchema.shape.SSF_DELIVERY,
  SSF_POLICY: configSchema.shape.SSF_POLICY,
  SSF_MANAGEMENT_TOKEN: configSchema.shape.SSF_MANAGEMENT_TOKEN,
  SESSION_MANAGEMENT: configSchema.shape.SESSION_MANAGEMENT,
  SESSION_CHECK_INTERVAL_MS: configSchema.shape.SESSION_CHECK_INTERVAL_MS,
  FCL_SESSION_REQUIRED: configSchema.shape.FCL_SESSION_REQUIRED,
  BCL_SESSION_REQUIRED: configSchema.shape.BCL_SESSION_REQUIRED,
  SESSION_TTL_SECONDS: configSchema.shape.SESSION_TTL_SECONDS,
});
type Settings = z.infer<typeof settingsSchema>;

/** As parseConfig does: empty values count as unset; errors name the key and the rule, never the value. */
function parseSettings(env: Record<string, string | undefined>): Settings {
  const input = Object.fromEntries(Object.keys(settingsSchema.shape).map((key) => [key, env[key] === "" ? undefined : env[key]]));
  const result = settingsSchema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => `${String(i.path[0] ?? "?")}: ${i.message}`);
  throw new CheckError(2, `invalid settings: ${details.join("; ")}`);
}

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Discovery §2: an https URL with no query or fragment; http only on loopback, for local IdPs. */
function parseIssuer(text: string): URL {
  const url = URL.parse(text);
  if (!url) throw new CheckError(2, `not a URL: ${text}`);
  const loopback = loopbackHosts.has(url.hostname) || url.hostname.endsWith(".localhost");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new CheckError(2, "the issuer must be an https URL (http only for localhost) (Discovery §2)");
  }
  if (url.search || url.hash) throw new CheckError(2, "the issuer must have no query or fragment (Discovery §2)");
  if (url.username || url.password) throw new CheckError(2, "the issuer must carry no credentials");
  return url;
}

/** Discovery §4: the well-known path is appended to the issuer, after dropping a trailing "/". */
function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
}

/** A URL as it may be printed: as given (a trailing "/" matters), but never with credentials in it. */
function printable(text: string): string {
  const url = URL.parse(text);
  if (!url) return "(not a URL)";
  if (!url.username && !url.password) return text;
  url.username = "";
  url.password = "";
  return url.href;
}

/** Why a fetch failed, in a few words that name no secret. */
function reasonOf(error: unknown, timeoutSeconds: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
    return `no answer within ${timeoutSeconds} s`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return `could not connect (${cause.code})`;
  return error instanceof Error ? error.message : "failed";
}

async function fetchJson(url: string, timeoutSeconds: number, headers: Record<string, string> = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { Accept: "application/json", ...headers },
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
  } catch (error) {
    throw new CheckError(1, `${printable(url)}: ${reasonOf(error, timeoutSeconds)}`);
  }
  if (!response.ok) throw new CheckError(1, `${printable(url)}: HTTP ${response.status}`);
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new CheckError(1, `${printable(url)}: ${reasonOf(error, timeoutSeconds)}`);
  }
  if (text.length > MAX_DOCUMENT_BYTES) throw new CheckError(1, `${printable(url)}: the answer is larger than 1 MiB`);
  return parseJson(text, printable(url));
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CheckError(1, `${where}: not JSON`);
  }
}

const endpoint = z.string().min(1);
/** Discovery §3 and the logout specs' fields (BCL §2.1, FCL §3, SM §3.3, RP-Initiated Logout §2.1, RFC 8414 §2). */
const discoveryFields = {
  token_endpoint: endpoint,
  userinfo_endpoint: endpoint,
  end_session_endpoint: endpoint,
  check_session_iframe: endpoint,
  introspection_endpoint: endpoint,
  revocation_endpoint: endpoint,
  backchannel_logout_supported: z.boolean(),
  backchannel_logout_session_supported: z.boolean(),
  frontchannel_logout_supported: z.boolean(),
  frontchannel_logout_session_supported: z.boolean(),
} as const;

type ParsedDiscovery = { issuer: string; metadata: IdpLogoutMetadata; ignored: string[] };

/**
 * The discovery document's logout fields. `issuer` is REQUIRED (Discovery §3); a field of the wrong
 * type is ignored and named, as the IdP had not sent it (a string "true" is not `true`).
 */
function parseDiscovery(json: unknown, where: string): ParsedDiscovery {
  const document = z.looseObject({ issuer: z.string().min(1) }).safeParse(json);
  if (!document.success) throw new CheckError(1, `${where}: not a discovery document (no issuer) (Discovery §3)`);
  const metadata: Record<string, unknown> = { issuer: document.data.issuer };
  const ignored: string[] = [];
  for (const [key, schema] of Object.entries(discoveryFields)) {
    const value = (document.data as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const parsed = schema.safeParse(value);
    if (parsed.success) metadata[key] = parsed.data;
    else ignored.push(key);
  }
  return { issuer: document.data.issuer, metadata: metadata as IdpLogoutMetadata, ignored };
}

type SsfFindings = {
  issuer: string;
  configuration: "read" | "unavailable";
  /** Why the configuration or the stream could not be read: a code, or HTTP status, never a body. */
  problem?: string;
  stream: "read" | "none_registered" | "not_read" | "unavailable";
  facts?: TransmitterFacts;
};

/** SSF §7.2 (the issuer checked, SSF §7.2.4), then this receiver's streams (SSF §8.1.1.2: `iss` checked) for events_delivered. */
async function readTransmitter(issuer: string, token: string | undefined, timeoutSeconds: number): Promise<SsfFindings> {
  let config: TransmitterConfig;
  try {
    config = await discoverTransmitter(issuer);
  } catch (error) {
    const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : "discovery_failed";
    return { issuer, configuration: "unavailable", problem: code, stream: "not_read" };
  }
  const listed = z.array(z.string()).safeParse(config.events_supported);
  const facts: TransmitterFacts = {
    delivery_methods_supported: config.delivery_methods_supported,
    ...(listed.success ? { events_supported: listed.data } : {}),
  };
  if (!token || !config.configuration_endpoint) return { issuer, configuration: "read", stream: "not_read", facts };
  try {
    const answer = await fetchJson(config.configuration_endpoint, timeoutSeconds, { Authorization: `Bearer ${token}` });
    const streams = z.union([streamConfigSchema.transform((s) => [s]), z.array(streamConfigSchema)]).safeParse(answer);
    if (!streams.success) return { issuer, configuration: "read", problem: "invalid_stream_configuration", stream: "unavailable", facts };
    if (streams.data.some((s) => s.iss !== issuer))
      return { issuer, configuration: "read", problem: "iss_mismatch", stream: "unavailable", facts };
    if (streams.data.length === 0)
      return { issuer, configuration: "read", stream: "none_registered", facts: { ...facts, events_delivered: [] } };
    const delivered = [...new Set(streams.data.flatMap((s) => s.events_delivered ?? []))];
    const methods = new Set(streams.data.map((s) => s.delivery.method));
    const method = methods.size === 1 ? [...methods][0] : undefined;
    return {
      issuer,
      configuration: "read",
      stream: "read",
      facts: { ...facts, events_delivered: delivered, ...(method ? { stream_delivery_method: method } : {}) },
    };
  } catch (error) {
    // The message names the endpoint and a status; the token is in a header and never in it.
    const problem = error instanceof CheckError ? (/HTTP \d+/.exec(error.message)?.[0] ?? "unreachable") : "unreachable";
    return { issuer, configuration: "read", problem, stream: "unavailable", facts };
  }
}

type Result = {
  source: string;
  issuer: { given?: string; document: string; matches?: boolean };
  ignoredFields: string[];
  ssf?: SsfFindings;
  settings: Omit<Settings, "SSF_MANAGEMENT_TOKEN"> & { SSF_MANAGEMENT_TOKEN: "set" | "unset" };
  report: CoverageReport;
  status: string;
};

function parseCommand(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" }, file: { type: "string" }, timeout: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    throw new CheckError(2, `${(error as Error).message}\n${usage}`);
  }
}

async function check(args: ReturnType<typeof parseCommand>, env: Record<string, string | undefined>): Promise<Result> {
  if (args.positionals.length > 1) throw new CheckError(2, usage);
  const timeoutSeconds = z.coerce.number().positive().max(120).default(10).safeParse(args.values.timeout);
  if (!timeoutSeconds.success) throw new CheckError(2, "--timeout: a number of seconds, at most 120");
  const settings = parseSettings(env);

  const given = args.positionals[0] ?? settings.OIDC_ISSUER;
  if (given !== undefined) parseIssuer(given);
  let source: string;
  let json: unknown;
  if (args.values.file !== undefined) {
    source = `file ${args.values.file}`;
    const text = await readFile(args.values.file, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new CheckError(1, `${args.values.file}: ${error.code ?? "cannot be read"}`);
    });
    json = parseJson(text, args.values.file);
  } else {
    if (given === undefined) throw new CheckError(2, `no issuer: give one, or set OIDC_ISSUER\n${usage}`);
    source = discoveryUrl(given);
    json = await fetchJson(source, timeoutSeconds.data);
  }
  const discovery = parseDiscovery(json, args.values.file ?? printable(source));

  const ssf = settings.SSF_ISSUER
    ? await readTransmitter(settings.SSF_ISSUER, settings.SSF_MANAGEMENT_TOKEN, timeoutSeconds.data)
    : undefined;
  const coverageSettings: CoverageSettings = settings;
  const report = coverage(discovery.metadata, coverageSettings, ssf?.facts);
  const { SSF_MANAGEMENT_TOKEN, ...shown } = settings;
  return {
    source: args.values.file !== undefined ? source : printable(source),
    // Discovery §4.3: the document's issuer MUST be identical to the URL it was fetched for.
    issuer:
      given === undefined ? { document: discovery.issuer } : { given, document: discovery.issuer, matches: given === discovery.issuer },
    ignoredFields: discovery.ignored,
    ...(ssf ? { ssf } : {}),
    settings: { ...shown, SSF_MANAGEMENT_TOKEN: SSF_MANAGEMENT_TOKEN ? "set" : "unset" },
    report,
    status: statusLine(report),
  };
}

// ---- the readable table -------------------------------------------------------------------------

const yes = (on: boolean, detail = "") => (on ? `yes${detail}` : "no");

/** Conditions the delay column already says. */
const saidByDelay: Partial<Record<Carrier["mechanism"], string[]>> = {
  frontchannel: ["browser_at_idp_logout"],
  session_iframe: ["open_tab", "same_site_idp"],
};

function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => `${indent}${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("   ")}`.trimEnd());
}

function ssfLine(ssf: SsfFindings | undefined, report: CoverageReport): string {
  if (!ssf) return "not configured (SSF_ISSUER unset)";
  if (ssf.configuration === "unavailable") return `${printable(ssf.issuer)}: configuration not readable (${ssf.problem})`;
  const delivery = report.sharedSignals
    ? `${report.sharedSignals.delivery}${report.sharedSignals.deliveryWorks ? "" : " (see the warnings)"}`
    : "";
  const stream = {
    read: "stream read: its events_delivered are used",
    none_registered: "no stream registered yet (npm run ssf -- register)",
    not_read: "stream not read (no SSF_MANAGEMENT_TOKEN)",
    unavailable: `stream not readable (${ssf.problem})`,
  }[ssf.stream];
  return `${printable(ssf.issuer)}, ${delivery}; ${stream}`;
}

function render(result: Result): string {
  const { report, issuer } = result;
  const a = report.advertised;
  const lines: string[] = [];
  lines.push(`IdP check: ${printable(issuer.given ?? issuer.document)}`);
  lines.push(`  discovery   ${result.source}`);
  if (issuer.matches === undefined) lines.push(`  issuer      ${printable(issuer.document)} (not compared: no issuer given)`);
  else if (issuer.matches) lines.push(`  issuer      ${printable(issuer.document)} (matches exactly)`);
  else
    lines.push(
      `  issuer      MISMATCH: the document says ${JSON.stringify(issuer.document)}; OIDC_ISSUER must be exactly that (Discovery §4.3)`,
    );
  if (result.ignoredFields.length > 0) lines.push(`  ignored     ${result.ignoredFields.join(", ")} (wrong type)`);

  lines.push("", "What the IdP advertises (what it supports, not what is registered for this client; only advertised paths count below)");
  lines.push(
    ...table(
      [
        ["Back-Channel Logout", yes(a.backchannelLogout, a.backchannelLogoutSession ? ", with sid" : ", without sid"), "BCL §2.1"],
        [
          "Front-Channel Logout",
          yes(a.frontchannelLogout, a.frontchannelLogoutSession ? ", with iss and sid" : ", without iss and sid"),
          "FCL §3",
        ],
        [
          "Session Management",
          yes(
            a.checkSessionIframe,
            result.settings.SESSION_MANAGEMENT === "off" ? " (not used: SESSION_MANAGEMENT=off)" : " (check_session_iframe)",
          ),
          "SM §3.3",
        ],
        ["RP-Initiated Logout", yes(a.endSession, " (end_session_endpoint)"), "RP-Initiated Logout §2.1"],
        ["Token introspection", yes(a.introspection), "RFC 7662"],
        ["Refresh-token grant", yes(a.tokenEndpoint, " (token_endpoint)"), "RFC 6749 §6"],
        ["Userinfo", yes(a.userinfo), "Core §5.3"],
        ["Token revocation", yes(a.revocation), "RFC 7009"],
      ],
      "  ",
    ),
  );
  lines.push(`  Shared Signals (SSF §7): ${ssfLine(result.ssf, report)}`);

  lines.push("", "How each event reaches this app (worst case)");
  for (const kind of report.kinds) {
    lines.push(`  ${eventKindLabel[kind.kind]}`);
    if (kind.carriers.length === 0) lines.push("    nothing");
    const rows = kind.carriers.map((c) => [
      c.events ? `${mechanismLabel[c.mechanism]} (${c.events.map((e) => shortName(e.type)).join(", ")})` : mechanismLabel[c.mechanism],
      c.delay.text,
      c.conditions
        .filter((x) => !saidByDelay[c.mechanism]?.includes(x))
        .map((x) => conditionLabel[x])
        .join("; "),
    ]);
    lines.push(...table(rows, "    "));
  }

  lines.push("", "What nothing covers");
  const gaps = report.kinds.filter((k) => k.gap);
  if (gaps.length === 0) lines.push("  nothing left uncovered, if every path above is registered");
  for (const k of gaps) lines.push(`  ${eventKindLabel[k.kind]}: ${k.gap?.text}`);

  const plan = report.liveness;
  lines.push("", "Liveness");
  lines.push(`  ${plan.enabled ? "on" : "off"}: ${livenessReason[plan.because]}`);
  const methods = plan.methods.length > 0 ? plan.methods.join(", ") : "none possible";
  lines.push(
    `  every ${formatSeconds(plan.intervalSeconds)} (LIVENESS_INTERVAL_SECONDS); methods${plan.enabled ? "" : " it would use"}, in order: ${methods}`,
  );

  lines.push("", `Status line: ${result.status}`);
  if (report.warnings.length > 0) {
    lines.push("", "Warnings");
    for (const w of report.warnings) lines.push(`  ! ${w.text}`);
  }
  return lines.join("\n");
}

// ---- main ---------------------------------------------------------------------------------------

const silent = { info: () => {}, error: () => {} };
const { combinedEnv } = nextEnv.loadEnvConfig(process.cwd(), false, silent);
try {
  const args = parseCommand(process.argv.slice(2));
  if (args.values.help) {
    console.log(usage);
  } else {
    const result = await check(args, combinedEnv);
    console.log(args.values.json ? JSON.stringify(result, null, 2) : render(result));
    if (result.issuer.matches === false) {
      console.error(`idp:check: the document's issuer is not ${result.issuer.given} exactly (Discovery §4.3)`);
      process.exitCode = 1;
    }
  }
} catch (error) {
  if (!(error instanceof CheckError)) throw error;
  console.error(`idp:check: ${error.message}`);
  process.exitCode = error.exitCode;
}
