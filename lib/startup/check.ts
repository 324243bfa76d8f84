import { ConfigError, getConfig, type Config } from "@/lib/config";

/**
 * What `next start` checks before it says Ready (instrumentation.ts, Node runtime), and what each
 * outcome does (docs/configuration.md, "What stops the start, what only warns"):
 * - a bad setting stops the start: one line per bad key, naming it and its rule, never its value;
 * - a store that does not answer one read stops it too: every request would answer 503, and a
 *   process manager that restarts it until the store is back serves nobody worse;
 * - an IdP whose discovery cannot be read only warns: it may be down for a moment during a deploy,
 *   and the app asks it again on the next sign-in.
 */

/** How long the store has to answer its start-up read. */
export const STORE_PROBE_TIMEOUT_MS = 5_000;

/** A store this process depends on, named by its setting and host (never its password), and one read from it. */
export type StoreProbe = { setting: string; host: string; read: () => Promise<unknown> };

export type StartupDeps = {
  config: () => Config;
  probes: (config: Config) => StoreProbe[];
  discover: () => Promise<unknown>;
  print: (line: string) => void;
  exit: (code: number) => never;
  timeoutMs?: number;
};

/** The lines a ConfigError prints: one per bad key and rule (its details name the key, never the value). */
export function configErrorLines(error: ConfigError): string[] {
  const details = error.message
    .split("\n")
    .slice(1)
    .map((line) => line.replace(/^\s*-\s*/, ""))
    .filter(Boolean);
  return (details.length > 0 ? details : error.keys.map((key) => `${key}: is invalid`)).map((d) => `Lockstep cannot start: ${d}`);
}

/** A code or a name from an error, for a line: never its message, which a client may fill with arguments. */
function reasonOf(error: unknown): string {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Za-z0-9_]{1,40}$/.test(code)) return code;
  }
  const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
  // Redis (or the REST endpoint) answered, with an error: a wrong token or password, a refused command.
  if (name === "UpstashError" || name === "ReplyError") return "it answered with an error: check the credentials";
  return "no answer";
}

/** Reads from each store once within `timeoutMs`; the lines of those that did not answer. */
export async function storeFailures(probes: StoreProbe[], timeoutMs: number): Promise<string[]> {
  const results = await Promise.all(
    probes.map(async (probe) => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: `timeout after ${timeoutMs} ms` })), timeoutMs);
      });
      try {
        await Promise.race([probe.read(), deadline]);
        return undefined;
      } catch (error) {
        const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : "";
        const reason = code.startsWith("timeout after") ? code : reasonOf(error);
        return `Lockstep cannot start: ${probe.setting}: the store at ${probe.host} did not answer a read (${reason}); every request would answer 503`;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return results.filter((line): line is string => line !== undefined);
}

/** Runs the checks: exits with code 1 on a bad setting or a silent store; warns, without waiting, when the IdP cannot be read. */
export async function runStartupChecks(deps: StartupDeps): Promise<void> {
  let config: Config;
  try {
    config = deps.config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const line of configErrorLines(error)) deps.print(line);
    return deps.exit(1);
  }
  const failures = await storeFailures(deps.probes(config), deps.timeoutMs ?? STORE_PROBE_TIMEOUT_MS);
  if (failures.length > 0) {
    for (const line of failures) deps.print(line);
    return deps.exit(1);
  }
  deps
    .discover()
    .catch((error: unknown) =>
      deps.print(
        `Lockstep warning: OIDC_ISSUER: the identity provider's discovery document could not be read (${reasonOf(error)}); starting anyway, sign-in fails until it answers`,
      ),
    );
}

/** The process's own checks, as instrumentation.ts runs them. */
export async function checkAtStartup(): Promise<void> {
  const { storeProbes } = await import("@/lib/compose/server");
  const { getIdpMetadata } = await import("@/lib/oidc/client");
  await runStartupChecks({
    config: getConfig,
    probes: storeProbes,
    discover: getIdpMetadata,
    print: (line) => console.error(line),
    exit: (code) => process.exit(code),
  });
}
