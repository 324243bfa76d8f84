/**
 * `npm run make-it-yours [-- --gateway] [--dry-run] [--force]`: turns this repository into a project of
 * your own. It removes the demo workspace (demo/: the demo IdP, resource server, stack and benchmarks)
 * and, with --gateway, the Redis REST gateway (gateway/), together with everything that needs them:
 *
 * - the test tiers that vitest.config.ts lists under `demoTiers` / `gatewayTiers`, and the test folders
 *   they include; then every module of tests/support/ that nothing left imports;
 * - package.json's workspaces and the scripts that run them (`npm run dev` becomes `next dev`), and the
 *   devDependencies only those tests used;
 * - tsconfig.next.json's excludes, the blocks of .ci/run and .github/workflows/ci.yml marked
 *   `# make-it-yours: begin <workspace>` … `# make-it-yours: end <workspace>`;
 * - the README's and docs' parts that concern only the demo (links to removed pages become plain text);
 *
 * then runs `npm install`, so that package-lock.json matches. Before it changes anything it checks
 * that no file left behind imports what it removes, and it refuses to run on uncommitted changes
 * (so that `git diff` shows all it did, and `git checkout .` undoes it) unless given --force.
 * --dry-run prints the same list and changes nothing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const abs = (file: string) => path.join(root, file);
const read = (file: string) => readFileSync(abs(file), "utf8");

/** The workspaces this command can remove, and what else goes with each. */
type Target = "demo" | "gateway";
const WORKSPACE_NAMES: Record<Target, string> = { demo: "@lockstep/demo", gateway: "@lockstep/gateway" };
/** devDependencies that only the demo's tiers use (the browser tier): removed with it when nothing left mentions them. */
const DEMO_ONLY_DEV_DEPENDENCIES = ["playwright-core", "axe-core"];
/** Folders never scanned. */
const SKIP_DIRS = new Set(["node_modules", ".git", ".next", "build", "coverage", ".bench", ".lockstep", "test-results"]);
const SOURCE = /\.(ts|tsx|mts|mjs|cjs|js)$/;

export class MakeItYoursError extends Error {}

/** What the command will do: paths to remove (files or folders, relative), files to rewrite, and what it says about each. */
export type Plan = {
  targets: Target[];
  removals: Map<string, string>;
  edits: Map<string, { content: string; why: string }>;
  warnings: string[];
  /** Whether this command (scripts/make-it-yours.ts) goes too: nothing is left for it to remove. */
  removesItself: boolean;
};

// --- files ---------------------------------------------------------------------------------------

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(abs(dir), { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const child = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(child, out);
    else if (entry.isFile()) out.push(child);
  }
  return out;
}

const under = (file: string, dir: string) => file === dir || file.startsWith(`${dir}/`);

function removed(plan: Plan, file: string): boolean {
  for (const gone of plan.removals.keys()) if (under(file, gone)) return true;
  return false;
}

function contentOf(plan: Plan, file: string): string {
  return plan.edits.get(file)?.content ?? read(file);
}

function edit(plan: Plan, file: string, content: string, why: string): void {
  if (content === contentOf(plan, file)) return;
  const before = plan.edits.get(file);
  plan.edits.set(file, { content, why: before ? `${before.why}; ${why}` : why });
}

// --- imports -------------------------------------------------------------------------------------

/** Every module specifier a source file names (imports, re-exports, dynamic imports), and path-like strings (globalSetup entries). */
function specifiers(source: string): string[] {
  const found = new Set<string>();
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) found.add(m[1]!);
  for (const m of source.matchAll(/["']((?:\.{1,2}\/|@\/|tests\/)[^"'\s]+)["']/g)) found.add(m[1]!);
  return [...found];
}

/** The file a specifier names, relative to the root, or undefined for a package. */
function resolve(from: string, specifier: string): string | undefined {
  let base: string;
  if (specifier.startsWith("./") || specifier.startsWith("../")) base = path.posix.join(path.posix.dirname(from), specifier);
  else if (specifier.startsWith("@/")) base = specifier.slice(2);
  else if (specifier.startsWith("tests/")) base = specifier;
  else return undefined;
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`]) {
    if (existsSync(abs(candidate)) && statSync(abs(candidate)).isFile()) return candidate;
  }
  // A folder or a file that does not exist: still a path (it may be a removed one).
  return base;
}

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("@/") || specifier.startsWith("tests/")) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

// --- vitest.config.ts ----------------------------------------------------------------------------

/** Removes `const <target>Tiers = [...]` and its spread from vitest.config.ts; returns each removed tier's name and include globs. */
function removeTiers(plan: Plan, target: Target): { name: string; includes: string[] }[] {
  const file = "vitest.config.ts";
  const source = contentOf(plan, file);
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const variable = `${target}Tiers`;
  let statement: ts.VariableStatement | undefined;
  for (const node of sf.statements) {
    if (
      ts.isVariableStatement(node) &&
      node.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === variable)
    ) {
      statement = node;
    }
  }
  if (!statement) throw new MakeItYoursError(`vitest.config.ts: no \`const ${variable} = [...]\` (the tiers that need ${target}/)`);
  const tiers: { name: string; includes: string[] }[] = [];
  const strings = (node: ts.Expression | undefined) =>
    node && ts.isArrayLiteralExpression(node) ? node.elements.filter(ts.isStringLiteral).map((e) => e.text) : [];
  const property = (object: ts.ObjectLiteralExpression, name: string) =>
    object.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === name)
      ?.initializer;
  const visit = (node: ts.Node) => {
    // A project's `test: { name, include }`.
    if (ts.isObjectLiteralExpression(node)) {
      const name = property(node, "name");
      if (name && ts.isStringLiteral(name)) tiers.push({ name: name.text, includes: strings(property(node, "include")) });
    }
    ts.forEachChild(node, visit);
  };
  visit(statement);
  let next = source.slice(0, statement.getFullStart()) + source.slice(statement.getEnd());
  const spread = new RegExp(`\\s*\\.\\.\\.${variable}\\s*,|,\\s*\\.\\.\\.${variable}\\b|\\.\\.\\.${variable}\\b`);
  if (!spread.test(next)) throw new MakeItYoursError(`vitest.config.ts: \`...${variable}\` is not in the projects list`);
  next = next.replace(spread, "");
  edit(plan, file, next, `tiers ${tiers.map((t) => t.name).join(", ")} removed`);
  return tiers;
}

/** The folder a glob starts with (`tests/e2e/**\/*.test.ts` → `tests/e2e`). */
function globRoot(glob: string): string {
  const parts = glob.split("/");
  const fixed = parts.slice(
    0,
    parts.findIndex((p) => /[*?[{]/.test(p)),
  );
  return fixed.join("/");
}

// --- Markdown ------------------------------------------------------------------------------------

/** The line range [start, end) of the section under `## heading` (to the next heading of its level or above). */
function section(lines: string[], heading: string): [number, number] | undefined {
  const level = heading.match(/^#+/)![0].length;
  let fenced = false;
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    const m = line.match(/^(#+) /);
    if (start < 0) {
      if (line.trim() === heading) start = i;
    } else if (m && m[1]!.length <= level) {
      return [start, i];
    }
  }
  return start < 0 ? undefined : [start, lines.length];
}

function replaceSection(plan: Plan, file: string, heading: string, replacement: string | null, why: string): void {
  const lines = contentOf(plan, file).split("\n");
  const range = section(lines, heading);
  if (!range) {
    plan.warnings.push(`${file}: no section "${heading}" (left as it is)`);
    return;
  }
  const add = replacement === null ? [] : replacement.replace(/\n+$/, "").split("\n").concat([""]);
  lines.splice(range[0], range[1] - range[0], ...add);
  edit(plan, file, lines.join("\n"), why);
}

/** Replaces the text between a section's heading and its first list item. */
function replaceLead(plan: Plan, file: string, heading: string, lead: string, why: string): void {
  const lines = contentOf(plan, file).split("\n");
  const range = section(lines, heading);
  const first = range ? lines.findIndex((l, i) => i > range[0] && i < range[1] && /^1\. /.test(l)) : -1;
  if (!range || first < 0) {
    plan.warnings.push(`${file}: no numbered list under "${heading}" (left as it is)`);
    return;
  }
  lines.splice(range[0] + 1, first - range[0] - 1, "", ...lead.replace(/\n+$/, "").split("\n"), "");
  edit(plan, file, lines.join("\n"), why);
}

/** Links to removed paths become their text; images of removed files go. */
function unlinkRemoved(plan: Plan, file: string): void {
  const source = contentOf(plan, file);
  const dir = path.posix.dirname(file);
  const gone = (target: string) => {
    if (/^[a-z]+:/i.test(target) || target.startsWith("#")) return false;
    const clean = target.split("#")[0]!;
    if (!clean) return false;
    return removed(plan, path.posix.normalize(path.posix.join(dir, clean)));
  };
  const next = source
    .replace(/!\[[^\]]*\]\(([^)\s]+)\)/g, (all, target: string) => (gone(target) ? "" : all))
    .replace(/(?<!!)\[([^\]]+)\]\(([^)\s]+)\)/g, (all, text: string, target: string) => (gone(target) ? text : all));
  edit(plan, file, next, "links to removed pages made plain text");
}

/** Removes the paragraphs (blocks between blank lines, outside tables and code) that mention `needle`. */
function removeParagraphs(plan: Plan, file: string, needle: string, why: string): void {
  const blocks = contentOf(plan, file).split(/\n{2,}/);
  const kept = blocks.filter((block) => block.startsWith("|") || block.startsWith("```") || !block.includes(needle));
  edit(plan, file, kept.join("\n\n"), why);
}

function removeTableRows(plan: Plan, file: string, firstCells: string[], why: string): void {
  const lines = contentOf(plan, file).split("\n");
  const kept = lines.filter((line) => {
    const cell = line.match(/^\|\s*([^|]+?)\s*\|/)?.[1];
    return !(cell && firstCells.includes(cell));
  });
  edit(plan, file, kept.join("\n"), why);
}

/** Removes the lines from `# make-it-yours: begin <target>` to `# make-it-yours: end <target>`, both included. */
function removeMarkedBlocks(plan: Plan, file: string, target: Target): void {
  if (!existsSync(abs(file))) return;
  const lines = contentOf(plan, file).split("\n");
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    const marker = line.trim().match(/^# make-it-yours: (begin|end) (\w+)$/);
    if (marker && marker[2] === target) {
      if ((marker[1] === "begin") === inside) throw new MakeItYoursError(`${file}: unbalanced "# make-it-yours: ${marker[1]} ${target}"`);
      inside = marker[1] === "begin";
      continue;
    }
    if (!inside) out.push(line);
  }
  if (inside) throw new MakeItYoursError(`${file}: "# make-it-yours: begin ${target}" has no end`);
  edit(plan, file, out.join("\n").replace(/\n{3,}/g, "\n\n"), `the steps for ${target}/ removed`);
}

// --- what a project made from the template says ---------------------------------------------------

const RUN_IT = `## Run it

\`\`\`sh
npm install
npm run dev   # next dev on http://localhost:3000, with your settings in .env.local
npm test      # type check, lint, and the test tiers
\`\`\`

\`npm run dev\` needs the settings below in \`.env.local\`: your IdP and your Redis
([docs/develop.md](docs/develop.md)). \`npm test\` needs a Redis server at \`127.0.0.1:6379\` and Debian's
\`redis-server\` binary (\`apt-get install -y redis-server\`); [docs/testing.md](docs/testing.md)
describes each tier.
`;

/** Wraps prose at the README's width. */
function wrap(text: string, width = 104): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}

function madeLead(targets: readonly Target[], removesItself: boolean): string {
  const what = targets.length === 2 ? "the demo and the Redis gateway" : targets[0] === "demo" ? "the demo" : "the Redis gateway";
  const page = removesItself ? "" : " ([docs/make-it-yours.md](docs/make-it-yours.md) says what went and what stays)";
  return wrap(
    `This project was made from the Lockstep template: \`npm run make-it-yours\` removed ${what}${page}. Its root is the app: \`app/\`, \`lib/\`, \`auth.ts\`, \`apis.ts\`, \`middleware.edge.ts\` and \`proxy.node.ts\` (the guard's two entries), \`public/\`, \`tests/\`, \`scripts/\` and the config files.`,
  );
}

const DEVELOP = `# Developing

\`\`\`sh
npm run dev   # next dev on http://localhost:3000 (hot reload)
\`\`\`

Next.js reads the settings from \`.env.local\` (and, under \`next dev\` only, \`.env.development.local\`),
which \`.gitignore\` keeps out of git. For development:

- \`AUTH_SECRET\` (\`openssl rand -base64 32\`) and \`AUTH_URL=http://localhost:3000\`;
- your IdP's \`OIDC_ISSUER\`, \`OIDC_CLIENT_ID\` and \`OIDC_CLIENT_SECRET\`, with \`http://localhost:3000\`
  registered as described in [registering.md](registering.md);
- a Redis: \`GUARD_RUNTIME=nodejs\` and \`REDIS_URL=redis://127.0.0.1:6379\` (the Node variant, no REST
  settings), or \`UPSTASH_REDIS_REST_URL\` and \`UPSTASH_REDIS_REST_TOKEN\` for the edge guard.

[configuration.md](configuration.md) describes every setting. The app needs Node.js 20.9 or later;
\`.nvmrc\` names 22 for \`nvm use\` and for CI.
`;

const BENCHMARKS_NOTE = `> These numbers were measured on the Lockstep template with its demo's runners (\`npm run bench\` and
> the like), which \`npm run make-it-yours\` removed from this project. They describe the template as
> shipped.
`;

// --- the plan ------------------------------------------------------------------------------------

export function makePlan(options: { gateway: boolean }): Plan {
  const targets: Target[] = [];
  if (existsSync(abs("demo"))) targets.push("demo");
  if (options.gateway && existsSync(abs("gateway"))) targets.push("gateway");
  const plan: Plan = { targets, removals: new Map(), edits: new Map(), warnings: [], removesItself: false };
  if (targets.length === 0) return plan;

  const pkg = JSON.parse(read("package.json")) as {
    workspaces?: string[];
    scripts?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const remainingWorkspaces = (pkg.workspaces ?? []).filter((w) => !targets.includes(w as Target));
  plan.removesItself = remainingWorkspaces.every((w) => w !== "demo" && w !== "gateway");

  // The workspaces, and the tiers (with their test folders) that need them.
  const tierNames: string[] = [];
  const tiersOf = new Map<string, string[]>();
  for (const target of targets) {
    plan.removals.set(target, `the ${WORKSPACE_NAMES[target]} workspace`);
    for (const tier of removeTiers(plan, target)) {
      tierNames.push(tier.name);
      for (const glob of tier.includes) {
        const dir = globRoot(glob);
        if (!dir || targets.some((t) => under(dir, t)) || !existsSync(abs(dir))) continue;
        tiersOf.set(dir, [...(tiersOf.get(dir) ?? []), tier.name]);
      }
    }
  }
  for (const [dir, names] of tiersOf) plan.removals.set(dir, `tests of the tier${names.length > 1 ? "s" : ""} ${names.join(", ")}`);
  if (plan.removesItself) {
    plan.removals.set("scripts/make-it-yours.ts", "this command: nothing is left for it to remove");
    if (existsSync(abs("docs/make-it-yours.md"))) plan.removals.set("docs/make-it-yours.md", "this command's page");
  }
  if (targets.includes("demo")) {
    plan.removals.set("docs/demo.md", "the demo's page");
  }

  // Test helpers that nothing left uses.
  const all = walk("");
  for (let changed = true; changed;) {
    changed = false;
    const alive = all.filter((f) => SOURCE.test(f) && !removed(plan, f));
    const used = new Set<string>();
    for (const file of alive) {
      for (const s of specifiers(contentOf(plan, file))) {
        const target = resolve(file, s);
        if (target && target !== file) used.add(target);
      }
    }
    for (const file of alive) {
      if (file.startsWith("tests/support/") && !used.has(file)) {
        plan.removals.set(file, "a test helper nothing left uses");
        changed = true;
      }
    }
  }

  // package.json: workspaces, the scripts that run them, devDependencies only their tests used.
  const scripts = { ...(pkg.scripts ?? {}) };
  const dropped: string[] = [];
  for (const [name, command] of Object.entries(scripts)) {
    const runsRemoved = targets.some((t) =>
      new RegExp(`(--workspace[= ]|-w )(${WORKSPACE_NAMES[t].replace("/", "\\/")}|${t})\\b`).test(command),
    );
    if (name === "dev" && targets.includes("demo")) scripts.dev = "next dev";
    else if ((name === "dev:app" && command === "next dev" && targets.includes("demo")) || runsRemoved) {
      delete scripts[name];
      dropped.push(name);
    } else if (name === "make-it-yours" && plan.removesItself) {
      delete scripts[name];
      dropped.push(name);
    }
  }
  const next: Record<string, unknown> = { ...pkg, scripts };
  if (remainingWorkspaces.length > 0) next.workspaces = remainingWorkspaces;
  else delete next.workspaces;
  const droppedDeps: string[] = [];
  if (targets.includes("demo") && pkg.devDependencies) {
    // (This command names them itself: it does not count.)
    const rest = all.filter((f) => SOURCE.test(f) && !removed(plan, f) && f !== "scripts/make-it-yours.ts");
    const devDependencies = { ...pkg.devDependencies };
    for (const dep of DEMO_ONLY_DEV_DEPENDENCIES) {
      if (!(dep in devDependencies)) continue;
      if (rest.some((f) => specifiers(contentOf(plan, f)).some((s) => packageOf(s) === dep) || contentOf(plan, f).includes(`"${dep}`)))
        continue;
      delete devDependencies[dep];
      droppedDeps.push(dep);
    }
    next.devDependencies = devDependencies;
  }
  edit(
    plan,
    "package.json",
    `${JSON.stringify(next, null, 2)}\n`,
    [
      `workspaces: ${targets.join(", ")} removed`,
      targets.includes("demo") ? "`npm run dev` runs `next dev`" : "",
      dropped.length ? `scripts removed: ${dropped.join(", ")}` : "",
      droppedDeps.length ? `devDependencies removed: ${droppedDeps.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join("; "),
  );

  // tsconfig.next.json's excludes.
  if (existsSync(abs("tsconfig.next.json"))) {
    const tsconfig = JSON.parse(read("tsconfig.next.json")) as { exclude?: string[] };
    if (tsconfig.exclude) {
      tsconfig.exclude = tsconfig.exclude.filter((e) => !targets.includes(e as Target));
      edit(plan, "tsconfig.next.json", `${JSON.stringify(tsconfig, null, 2)}\n`, `${targets.join(", ")} no longer excluded`);
    }
  }

  // CI's steps and the example settings only the removed workspaces need.
  for (const target of targets) {
    removeMarkedBlocks(plan, ".ci/run", target);
    removeMarkedBlocks(plan, ".github/workflows/ci.yml", target);
    removeMarkedBlocks(plan, ".env.example", target);
  }

  // Docs.
  if (existsSync(abs("docs/testing.md"))) {
    removeTableRows(plan, "docs/testing.md", tierNames, `rows of tiers ${tierNames.join(", ")} removed`);
    if (targets.includes("demo")) removeParagraphs(plan, "docs/testing.md", "make-it-yours", "what it said of the demo's tiers removed");
  }
  if (existsSync(abs("docs/configuration.md"))) {
    if (targets.includes("demo"))
      replaceSection(plan, "docs/configuration.md", "## The demo IdP's settings", null, "the demo IdP's settings removed");
    if (targets.includes("gateway"))
      replaceSection(plan, "docs/configuration.md", "## The gateway's settings", null, "the gateway's settings removed");
  }
  if (targets.includes("demo")) {
    replaceSection(plan, "README.md", "## Two commands", RUN_IT, "the demo's commands replaced by `npm run dev` and `npm test`");
    replaceSection(plan, "README.md", "## A five-minute tour", null, "the demo's tour removed");
    if (existsSync(abs("docs/develop.md"))) edit(plan, "docs/develop.md", DEVELOP, "the development loop without the demo");
    if (existsSync(abs("docs/benchmarks.md"))) {
      const page = contentOf(plan, "docs/benchmarks.md");
      const h1 = page.indexOf("\n") + 1;
      if (!page.includes(BENCHMARKS_NOTE))
        edit(
          plan,
          "docs/benchmarks.md",
          `${page.slice(0, h1)}\n${BENCHMARKS_NOTE}${page.slice(h1)}`,
          "a note that the demo's runners are gone",
        );
    }
  }
  // What is gone once this has run: this run's targets and what an earlier run removed.
  const gone = (["demo", "gateway"] as const).filter((t) => targets.includes(t) || !existsSync(abs(t)));
  replaceLead(plan, "README.md", "## Make it yours", madeLead(gone, plan.removesItself), "what was removed");
  const markdown = all.filter((f) => f.endsWith(".md") && !removed(plan, f));
  if (targets.includes("demo") && existsSync(abs("docs/screenshots"))) {
    const shown = markdown.some((f) => contentOf(plan, f).includes("screenshots/"));
    if (!shown) plan.removals.set("docs/screenshots", "screenshots no page shows any more");
  }
  for (const file of markdown) unlinkRemoved(plan, file);

  checkNothingLeftNeedsThem(plan, all);
  return plan;
}

/** Refuses (before anything is changed) when a file that stays imports a removed file, folder or package. */
function checkNothingLeftNeedsThem(plan: Plan, all: string[]): void {
  const packages = new Set(plan.targets.map((t) => WORKSPACE_NAMES[t]));
  const problems: string[] = [];
  for (const file of all) {
    if (!SOURCE.test(file) || removed(plan, file)) continue;
    for (const s of specifiers(contentOf(plan, file))) {
      const target = resolve(file, s);
      const pkg = packageOf(s);
      if ((target && removed(plan, target)) || (pkg && packages.has(pkg))) problems.push(`${file} imports ${s}`);
    }
  }
  if (problems.length > 0) {
    throw new MakeItYoursError(
      `these files stay but need what would be removed (move what they use out of ${plan.targets.join("/ and ")}/ first, e.g. to tests/support/):\n  ${problems.join("\n  ")}`,
    );
  }
}

// --- running it ----------------------------------------------------------------------------------

function uncommitted(): string[] | undefined {
  const git = spawnSync("git", ["status", "--porcelain"], { cwd: root, encoding: "utf8" });
  if (git.status !== 0) return undefined;
  return git.stdout.split("\n").filter(Boolean);
}

function describe(plan: Plan, dryRun: boolean): string[] {
  const lines: string[] = [];
  const verb = dryRun ? "would remove" : "removed";
  for (const [file, why] of [...plan.removals].sort(([a], [b]) => a.localeCompare(b))) {
    const folder = existsSync(abs(file)) && statSync(abs(file)).isDirectory() ? "/" : "";
    lines.push(`  ${verb.padEnd(12)} ${file}${folder}  (${why})`);
  }
  for (const [file, { why }] of [...plan.edits].sort(([a], [b]) => a.localeCompare(b))) {
    if (removed(plan, file)) continue;
    lines.push(`  ${(dryRun ? "would edit" : "edited").padEnd(12)} ${file}  (${why})`);
  }
  return lines;
}

function run(command: string, args: string[]): void {
  console.log(`\n$ ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new MakeItYoursError(`${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
}

function main(): void {
  const args = new Set(process.argv.slice(2));
  for (const arg of args) {
    if (!["--gateway", "--dry-run", "--force"].includes(arg)) {
      throw new MakeItYoursError(`unknown option ${arg} (options: --gateway, --dry-run, --force)`);
    }
  }
  const dryRun = args.has("--dry-run");
  const plan = makePlan({ gateway: args.has("--gateway") });
  if (plan.targets.length === 0) {
    console.log(
      existsSync(abs("gateway"))
        ? "make-it-yours: demo/ is already gone. `npm run make-it-yours -- --gateway` removes the gateway too."
        : "make-it-yours: nothing left to remove.",
    );
    return;
  }
  const changes = uncommitted();
  if (!dryRun && !args.has("--force") && (changes === undefined || changes.length > 0)) {
    throw new MakeItYoursError(
      changes === undefined
        ? "this is not a git checkout, so nothing could undo the changes; run it with --force to go on anyway"
        : `there are uncommitted changes (${changes.length}); commit or stash them first, so that \`git diff\` shows what this command did, or run it with --force`,
    );
  }
  const names = plan.targets.map((t) => `${t}/`).join(" and ");
  console.log(
    `make-it-yours: ${dryRun ? "would remove" : "removing"} ${names}, and what needs ${plan.targets.length > 1 ? "them" : "it"}:`,
  );
  for (const warning of plan.warnings) console.log(`  note: ${warning}`);
  if (dryRun) {
    console.log(describe(plan, true).join("\n"));
    console.log("\nthen `npm install` (package-lock.json follows package.json). Nothing was changed (--dry-run).");
    return;
  }
  const summary = describe(plan, false);
  for (const file of plan.removals.keys()) rmSync(abs(file), { recursive: true, force: true });
  for (const [file, { content }] of plan.edits) if (!removed(plan, file)) writeFileSync(abs(file), content);
  console.log(summary.join("\n"));

  // The lockfile must match package.json: the workspaces and devDependencies removed above.
  run("npm", ["install", "--no-audit", "--no-fund"]);
  const formatted = [...plan.edits.keys()].filter((f) => !removed(plan, f) && /\.(ts|tsx|mjs|json|ya?ml)$/.test(f));
  if (formatted.length > 0) run(path.join(root, "node_modules/.bin/prettier"), ["--write", "--log-level", "warn", ...formatted]);

  console.log(`
Done: ${names} and what needed ${plan.targets.length > 1 ? "them are" : "it is"} gone; \`git status\` lists every change.
Next:
  1. Register a confidential web client at your IdP (docs/registering.md, per provider docs/idp/).
  2. Put your settings in .env.local (AUTH_SECRET, AUTH_URL, OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
     and Redis: GUARD_RUNTIME=nodejs with REDIS_URL, or UPSTASH_REDIS_REST_URL/TOKEN); docs/configuration.md.
  3. npm run dev        (next dev on http://localhost:3000)
  4. npm test           (type check, lint and the template's tiers; needs Redis at 127.0.0.1:6379)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    if (!(error instanceof MakeItYoursError)) throw error;
    console.error(`make-it-yours: ${error.message}`);
    process.exit(1);
  }
}
