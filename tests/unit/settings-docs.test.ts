import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "@/lib/config/schema";

/**
 * Every setting the schema reads is described in docs/configuration.md and listed in .env.example,
 * and neither names a setting the schema does not read: the three cannot drift apart.
 */
function schemaKeys(): string[] {
  // The schema is an object wrapped in refinements: walk down to the object's shape.
  let node: unknown = configSchema;
  for (let i = 0; i < 5 && node && !(node as { shape?: object }).shape; i++) {
    const def = (node as { _zod?: { def?: { in?: unknown; schema?: unknown } } })._zod?.def;
    node = def?.in ?? def?.schema;
  }
  const shape = (node as { shape?: Record<string, unknown> } | undefined)?.shape;
  if (!shape) throw new Error("configSchema's object shape was not found");
  return Object.keys(shape);
}

const root = new URL("../../", import.meta.url);
const docs = readFileSync(new URL("docs/configuration.md", root), "utf8");
const example = readFileSync(new URL(".env.example", root), "utf8");
/** The settings table's first column: every `NAME` in a row's first cell. */
const documented = new Set(
  docs
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .flatMap((line) => [...line.split("|")[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)),
);
const listed = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
/** Read by other programs than the app (the gateway, the demo IdP) or accepted as another name: documented, not in the schema. */
const elsewhere = new Set([
  "KV_REST_API_URL",
  "KV_REST_API_TOKEN",
  "GATEWAY_HOST",
  "GATEWAY_PORT",
  "GATEWAY_KEY_PREFIX",
  "GATEWAY_MAX_COMMANDS",
  "IDP_PORT",
  "IDP_CLIENTS",
]);

describe("settings: the schema, docs/configuration.md and .env.example agree", () => {
  const keys = schemaKeys();

  it("describes every setting the schema reads in docs/configuration.md", () => {
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
  });

  it("lists every setting in .env.example", () => {
    expect(keys.filter((k) => !listed.has(k))).toEqual([]);
  });

  it("documents no setting the schema does not read", () => {
    expect([...documented].filter((k) => !keys.includes(k) && !elsewhere.has(k))).toEqual([]);
    expect([...listed].filter((k) => !keys.includes(k) && !elsewhere.has(k))).toEqual([]);
  });
});
