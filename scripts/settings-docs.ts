/**
 * `npm run docs:settings`: writes the settings tables of docs/configuration.md from the configuration
 * schema (lib/config/schema.ts), where each setting is described once, in its `.meta({...})`:
 *
 *   group         which table it is in (settingGroups below, in the page's order)
 *   description   the meaning column (Markdown, with links relative to docs/)
 *   defaultShown  the default column, where the schema cannot say it (a rule between settings, a unit)
 *   allowed       the values column, where the schema cannot say it (a pattern, a URL, a JSON shape)
 *                 ("text" when it cannot say and no `allowed` is given)
 *
 * Otherwise the default column comes from the schema (`.default(...)`, "unset" when optional,
 * "required" when neither), and the values column from an enum, a boolean or a number's bounds.
 * Only the text between the two marker comments changes; the page's prose around them stays.
 * `--check` writes nothing and exits 1 when the page differs (tests/unit/settings-docs.test.ts does the same).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { configSchema } from "@/lib/config/schema";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const pagePath = path.join(root, "docs/configuration.md");

export const BEGIN =
  "<!-- settings:begin: generated from lib/config/schema.ts by `npm run docs:settings`; edit the schema, not these tables -->";
export const END = "<!-- settings:end -->";

/** The tables of the page, in order: each setting names one in its `group`. */
export const settingGroups = [
  { id: "app", title: "The app" },
  { id: "idp", title: "The identity provider" },
  { id: "store", title: "Redis and the guard" },
  { id: "sessions", title: "Sessions and open tabs" },
  { id: "logout", title: "Logout receivers" },
  { id: "liveness", title: "Liveness" },
  { id: "ssf", title: "Shared Signals" },
  { id: "remote-api", title: "Remote APIs" },
  { id: "telemetry", title: "Telemetry (OpenTelemetry)" },
  { id: "development", title: "Development and benchmarks" },
] as const;

const groupIds = settingGroups.map((g) => g.id) as [string, ...string[]];

/** What a setting's `.meta({...})` must hold. */
export const settingDocSchema = z.object({
  group: z.enum(groupIds),
  description: z.string().min(1),
  defaultShown: z.string().min(1).optional(),
  allowed: z.string().min(1).optional(),
});

export type SettingRow = { name: string; group: string; default: string; allowed: string; description: string };

type Def = { type: string; innerType?: Node; in?: Node; defaultValue?: unknown; entries?: Record<string, string>; checks?: Node[] };
type Node = { _zod: { def: Def & { check?: string; value?: unknown; inclusive?: boolean } }; meta?: () => unknown };

/** The schema's object shape, under its refinements. */
function shapeOf(schema: unknown): Record<string, Node> {
  let node = schema as { shape?: Record<string, Node>; _zod?: { def?: { in?: unknown; schema?: unknown } } } | undefined;
  for (let i = 0; i < 5 && node && !node.shape; i++) node = (node._zod?.def?.in ?? node._zod?.def?.schema) as typeof node;
  if (!node?.shape) throw new Error("configSchema's object shape was not found");
  return node.shape;
}

/** The schemas a setting is made of, outermost first (default, optional, pipe's input...). */
function layers(node: Node): Node[] {
  const out: Node[] = [];
  for (let n: Node | undefined = node; n; n = n._zod.def.innerType ?? n._zod.def.in) out.push(n);
  return out;
}

const code = (value: string) => `\`${value}\``;

function shownDefault(node: Node): string {
  const def = node._zod.def;
  if (def.type === "default") {
    const value = typeof def.defaultValue === "function" ? (def.defaultValue as () => unknown)() : def.defaultValue;
    if (Array.isArray(value)) return code(value.join(","));
    if (typeof value === "object" && value !== null) return code(JSON.stringify(value));
    return code(String(value));
  }
  return def.type === "optional" ? "unset" : "required";
}

function shownValues(node: Node): string {
  for (const layer of layers(node)) {
    const def = layer._zod.def;
    if (def.type === "enum" && def.entries) {
      const options = Object.values(def.entries);
      // The boolean settings (`bool` in the schema) also take 1 and 0.
      if (options.includes("true") && options.includes("false")) return "`true`, `false`";
      return options.map(code).join(", ");
    }
    if (def.type === "number") {
      let min: number | undefined;
      let max: number | undefined;
      for (const check of def.checks ?? []) {
        const c = check._zod.def;
        if (typeof c.value !== "number") continue;
        if (c.check === "greater_than") min = c.inclusive ? c.value : c.value + 1;
        if (c.check === "less_than") max = c.inclusive ? c.value : c.value - 1;
      }
      if (min !== undefined && max !== undefined) return `${code(String(min))} to ${code(String(max))}`;
      if (min !== undefined) return `${code(String(min))} or more`;
    }
  }
  return "text";
}

/** Every setting of the schema, in schema order, with what the page shows for it. Throws naming each setting whose metadata is missing or wrong. */
export function settingRows(schema: unknown = configSchema): SettingRow[] {
  const problems: string[] = [];
  const rows: SettingRow[] = [];
  for (const [name, node] of Object.entries(shapeOf(schema))) {
    const parsed = settingDocSchema.safeParse(node.meta?.());
    if (!parsed.success) {
      problems.push(`${name}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "meta"} ${i.message}`).join("; ")}`);
      continue;
    }
    const doc = parsed.data;
    rows.push({
      name,
      group: doc.group,
      default: doc.defaultShown ?? shownDefault(node),
      allowed: doc.allowed ?? shownValues(node),
      description: doc.description,
    });
  }
  if (problems.length > 0) {
    throw new Error(
      `lib/config/schema.ts: each setting needs .meta({ group, description }) (group one of ${groupIds.join(", ")}):\n  ${problems.join("\n  ")}`,
    );
  }
  return rows;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The generated part of the page: one table per group, under a heading of its own. */
export function settingsTables(rows: SettingRow[] = settingRows()): string {
  const parts: string[] = [];
  for (const group of settingGroups) {
    const inGroup = rows.filter((r) => r.group === group.id);
    if (inGroup.length === 0) continue;
    parts.push(
      `### ${group.title}`,
      "",
      "| variable | default | values | meaning |",
      "|---|---|---|---|",
      ...inGroup.map((r) => `| ${code(r.name)} | ${cell(r.default)} | ${cell(r.allowed)} | ${cell(r.description)} |`),
      "",
    );
  }
  return parts.join("\n");
}

/** The page with its generated part replaced. Throws when the markers are missing or out of order. */
export function renderPage(page: string, tables: string = settingsTables()): string {
  const begin = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/configuration.md: the marker comments are missing (${BEGIN} … ${END})`);
  return `${page.slice(0, begin + BEGIN.length)}\n\n${tables}\n${page.slice(end)}`;
}

function main(): void {
  const check = process.argv.includes("--check");
  const page = readFileSync(pagePath, "utf8");
  const next = renderPage(page);
  if (next === page) {
    console.log("docs/configuration.md: the settings tables match lib/config/schema.ts");
    return;
  }
  if (check) {
    console.error("docs/configuration.md: the settings tables differ from lib/config/schema.ts; run `npm run docs:settings`");
    process.exit(1);
  }
  writeFileSync(pagePath, next);
  console.log("docs/configuration.md: settings tables rewritten from lib/config/schema.ts");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
