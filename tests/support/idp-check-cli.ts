import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "vitest";
import type { CoverageReport, EventKind } from "@/lib/liveness/coverage";
import { root } from "./next-app";

/**
 * `npm run idp:check` (scripts/idp-check.ts) as a child process, the way people run it: in an empty
 * directory, so no .env file of the checkout changes the answer, with an environment that holds only
 * what each test sets.
 */

/** Settings the check must never print, though they are in its environment. */
export const SECRETS = {
  AUTH_SECRET: "auth-secret-of-the-test-0123456789abcdef",
  OIDC_CLIENT_SECRET: "client-secret-of-the-test-0123456789",
};

export type Output = {
  source: string;
  issuer: { given?: string; document: string; matches?: boolean };
  ssf?: { configuration: string; stream: string; problem?: string };
  report: CoverageReport;
  status: string;
};
export type Run = { code: number; stdout: string; stderr: string };

export type IdpCheck = {
  /** The empty directory it runs in. */
  workdir: string;
  /** Runs the check as `npm run idp:check -- …` does (tsx), with exactly `env` (and PATH, NODE_ENV). */
  check(args: string[], env?: Record<string, string>): Promise<Run>;
  /** The same with `--json`: expects a clean exit and returns the parsed report. */
  checkJson(args: string[], env?: Record<string, string>): Promise<Output>;
  /** Removes the empty directory it runs in. */
  remove(): Promise<void>;
};

export async function idpCheckCli(): Promise<IdpCheck> {
  const workdir = await mkdtemp(path.join(tmpdir(), "idp-check-"));
  const check = (args: string[], env: Record<string, string> = {}): Promise<Run> => {
    const script = path.join(root, "scripts/idp-check.ts");
    const tsx = path.join(root, "node_modules/.bin/tsx");
    return new Promise((resolve) => {
      execFile(
        tsx,
        ["--tsconfig", path.join(root, "tsconfig.json"), script, ...args],
        { cwd: workdir, env: { NODE_ENV: "test", PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  };
  return {
    workdir,
    check,
    async checkJson(args, env = {}) {
      const run = await check([...args, "--json"], env);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout) as Output;
    },
    remove: () => rm(workdir, { recursive: true, force: true }),
  };
}

export const kind = (output: Output, name: EventKind) => {
  const found = output.report.kinds.find((k) => k.kind === name);
  if (!found) throw new Error(`no ${name}`);
  return found;
};
/** mechanism → worst case in seconds (null when no number can be given), for one kind of event. */
export const delays = (output: Output, name: EventKind) =>
  Object.fromEntries(kind(output, name).carriers.map((c) => [c.mechanism, c.delay.seconds ?? null]));
export const gaps = (output: Output) =>
  Object.fromEntries(output.report.kinds.map((k) => [k.kind, k.gap ? [k.gap.code, k.gap.boundSeconds] : null]));
