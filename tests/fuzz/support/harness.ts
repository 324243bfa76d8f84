import { caseSeed, Rng } from "./prng";

/**
 * The fuzz loop shared by the receivers' files: case i gets its own seed (from FUZZ_SEED and i),
 * the generator turns that seed into one mutated input classified when it is made, and the
 * receiver's check runs it on fresh stores. Nothing is random apart from the seeds.
 */

/** refuse: the mutation breaks a rule; accept: it changes nothing a rule looks at; either: the specs let a receiver do both. */
export type Expect = "refuse" | "accept" | "either";
/** What an accepted input must do to the one live session. */
export type Effect = "ends" | "keeps" | "any";
export type Family = "header" | "claims" | "signature" | "encoding";
export const FAMILIES: readonly Family[] = ["header", "claims", "signature", "encoding"];

export type Case = {
  family: Family;
  /** What was done, specific enough to read the input back from (values, positions). */
  name: string;
  raw: string;
  expect: Expect;
  effect: Effect;
  /** Verify against the key set that also publishes a 1024-bit RSA key (kid k3). */
  keys?: "with-weak-key";
  /** The jti of the valid token the input was made from: no replay record may name it after a refusal. */
  jti: string;
};

export type Verdict = { refused: boolean; code?: string; failure?: string };

export type Failure = { index: number; seed: number; testCase: Case; failure: string };

/**
 * A bug in lib/ this tier has found and reported: its inputs are counted and named in the summary
 * instead of failing every run, and the receiver's file replays one of them in an `it.fails` test
 * that turns red once the bug is fixed (then delete the entry).
 */
export type KnownBug = { name: string; matches: (c: Case, failure: string) => boolean };

export type Report = {
  label: string;
  count: number;
  refused: number;
  accepted: number;
  /** Accepted inputs of the `either` class. */
  lenient: number;
  byFamily: Record<Family, { refused: number; accepted: number }>;
  codes: Map<string, number>;
  /** Per mutation: how often it was refused (by code) and accepted. */
  byName: Map<string, Map<string, number>>;
  failures: Failure[];
  /** Failures that are a KnownBug's, by bug: how many, and the first one's seed. */
  known: Map<string, { count: number; seed: number }>;
  ms: number;
};

const parseSeed = (value: string | undefined, fallback: number): number => {
  if (value === undefined || value === "") return fallback;
  const n = value.startsWith("0x") ? Number.parseInt(value.slice(2), 16) : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a seed: ${value}`);
  return n >>> 0;
};

/** FUZZ_COUNT cases per receiver (1,000 by default); FUZZ_SEED the run's seed; FUZZ_CASE one case's seed, to replay it alone; FUZZ_STRICT (read in fuzz()) to fail on known bugs too. */
export const fuzzSettings = () => ({
  count: Number(process.env.FUZZ_COUNT ?? 1000),
  seed: parseSeed(process.env.FUZZ_SEED, 0x10c4573),
  only: process.env.FUZZ_CASE ? parseSeed(process.env.FUZZ_CASE, 0) : undefined,
});

export const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

export async function fuzz(
  label: string,
  generate: (rng: Rng) => Case,
  check: (c: Case) => Promise<Verdict>,
  knownBugs: readonly KnownBug[] = [],
): Promise<Report> {
  const { count, seed, only } = fuzzSettings();
  // FUZZ_STRICT=1: known bugs fail the run like any other.
  if (process.env.FUZZ_STRICT) knownBugs = [];
  const seeds = only !== undefined ? [only] : Array.from({ length: count }, (_, i) => caseSeed(seed, i));
  const report: Report = {
    label,
    count: seeds.length,
    refused: 0,
    accepted: 0,
    lenient: 0,
    byFamily: {
      header: { refused: 0, accepted: 0 },
      claims: { refused: 0, accepted: 0 },
      signature: { refused: 0, accepted: 0 },
      encoding: { refused: 0, accepted: 0 },
    },
    codes: new Map(),
    byName: new Map(),
    failures: [],
    known: new Map(),
    ms: 0,
  };
  const started = performance.now();
  for (const [index, s] of seeds.entries()) {
    let testCase: Case;
    try {
      testCase = generate(new Rng(s));
    } catch (error) {
      throw new Error(`the generator failed on seed ${hex(s)}: ${String(error)}`, { cause: error });
    }
    const verdict = await check(testCase);
    const tally = report.byFamily[testCase.family];
    if (verdict.refused) {
      report.refused += 1;
      tally.refused += 1;
      if (verdict.code) report.codes.set(verdict.code, (report.codes.get(verdict.code) ?? 0) + 1);
    } else {
      report.accepted += 1;
      tally.accepted += 1;
      if (testCase.expect === "either") report.lenient += 1;
    }
    const key = `${testCase.family}: ${testCase.name.replace(/[0-9]+/g, "N")} [${testCase.expect}]`;
    const outcomes = report.byName.get(key) ?? new Map<string, number>();
    const outcome = verdict.refused ? (verdict.code ?? "refused") : "ACCEPTED";
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    report.byName.set(key, outcomes);
    if (verdict.failure) {
      const bug = knownBugs.find((b) => b.matches(testCase, verdict.failure as string));
      if (bug) {
        const seen = report.known.get(bug.name);
        report.known.set(bug.name, { count: (seen?.count ?? 0) + 1, seed: seen?.seed ?? s });
      } else report.failures.push({ index, seed: s, testCase, failure: verdict.failure });
    }
  }
  report.ms = performance.now() - started;
  return report;
}

/** FUZZ_VERBOSE=1: every mutation (numbers folded) with its outcomes, for reading what the receiver does with each. */
export function details(r: Report): string {
  return [...r.byName]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, outcomes]) => `  ${name}: ${[...outcomes].map(([o, n]) => `${o} ×${n}`).join(", ")}`)
    .join("\n");
}

/** One line: count, refused, accepted, and each family's refused/accepted. */
export function summary(r: Report): string {
  const families = FAMILIES.map((f) => `${f} ${r.byFamily[f].refused}/${r.byFamily[f].accepted}`).join(", ");
  return (
    `fuzz ${r.label}: ${r.count} inputs in ${(r.ms / 1000).toFixed(1)} s, refused ${r.refused}, accepted ${r.accepted} ` +
    `(${r.lenient} of them lenient), refused/accepted by family: ${families}; ${r.codes.size} distinct error codes; ${r.failures.length} failures` +
    [...r.known].map(([name, k]) => `; known lib bug "${name}" ×${k.count} (first seed ${hex(k.seed)})`).join("")
  );
}

const shown = (raw: string) => {
  const head = JSON.stringify(raw.length > 240 ? `${raw.slice(0, 240)}…` : raw);
  return `${head} (${raw.length} chars)`;
};

/** The first failure in full (seed, mutation, input, what went wrong, how to replay it), then how many others, by mutation. */
export function describeFailures(r: Report, file: string): string {
  const [first] = r.failures;
  if (!first) return "";
  const byName = new Map<string, number>();
  for (const f of r.failures)
    byName.set(`${f.testCase.family}: ${f.testCase.name}`, (byName.get(`${f.testCase.family}: ${f.testCase.name}`) ?? 0) + 1);
  const c = first.testCase;
  return [
    `${r.failures.length} of ${r.count} ${r.label} inputs failed. First: case #${first.index}, seed ${hex(first.seed)}`,
    `  mutation: ${c.family}: ${c.name} (expected: ${c.expect}${c.expect === "refuse" ? "" : `, effect ${c.effect}`}${c.keys ? `, keys ${c.keys}` : ""})`,
    `  input: ${shown(c.raw)}`,
    `  failure: ${first.failure}`,
    `  replay: FUZZ_CASE=${hex(first.seed)} npx vitest run --project fuzz ${file}`,
    `  failing mutations: ${[...byName].map(([n, k]) => `${n} ×${k}`).join("; ")}`,
  ].join("\n");
}

export const errorName = (e: unknown): string => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : JSON.stringify(e));
