import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { renderPage, settingRows, settingsTables } from "@/scripts/settings-docs";

/**
 * Each setting is described once, in the schema's metadata (lib/config/schema.ts), and
 * docs/configuration.md's tables are generated from it (`npm run docs:settings`): the committed page
 * must be exactly what the generator writes. .env.example lists every setting and no other.
 */
const root = new URL("../../", import.meta.url);
const docs = readFileSync(new URL("docs/configuration.md", root), "utf8");
const example = readFileSync(new URL(".env.example", root), "utf8");
const listed = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
/** Read by other programs than the app (the gateway, the demo IdP) or accepted as another name: in .env.example, not in the schema. */
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
  const keys = settingRows().map((r) => r.name);

  it("docs/configuration.md's settings tables are the ones generated from the schema", () => {
    const generated = renderPage(docs);
    if (generated !== docs) {
      expect.fail("docs/configuration.md's settings tables differ from lib/config/schema.ts: run `npm run docs:settings`");
    }
  });

  it("lists every setting in .env.example", () => {
    expect(keys.filter((k) => !listed.has(k))).toEqual([]);
  });

  it("lists no setting in .env.example that the schema does not read", () => {
    expect([...listed].filter((k) => !keys.includes(k) && !elsewhere.has(k))).toEqual([]);
  });
});

describe("the generator", () => {
  const doc = { group: "app", description: "What it does." };

  it("refuses a setting without a description, naming it", () => {
    const schema = z.object({ DOCUMENTED: z.string().meta(doc), BARE: z.string().optional() });
    expect(() => settingRows(schema)).toThrow(/BARE/);
    expect(() => settingRows(schema)).not.toThrow(/DOCUMENTED/);
  });

  it("takes the default and the values from the schema unless the metadata says them", () => {
    const schema = z
      .object({
        MODE: z.enum(["on", "off"]).default("off").meta(doc),
        COUNT: z.coerce.number().int().positive().max(9).default(3).meta(doc),
        NAME: z
          .string()
          .optional()
          .meta({ ...doc, defaultShown: "unset; required with `MODE=on`", allowed: "a name" }),
        SECRET: z.string().meta(doc),
      })
      .superRefine(() => {});
    expect(settingRows(schema).map((r) => [r.name, r.default, r.allowed])).toEqual([
      ["MODE", "`off`", "`on`, `off`"],
      ["COUNT", "`3`", "`1` to `9`"],
      ["NAME", "unset; required with `MODE=on`", "a name"],
      ["SECRET", "required", "text"],
    ]);
  });

  it("rewrites only what lies between the markers", () => {
    const page = docs.replace(/(<!-- settings:begin[^\n]*-->)[\s\S]*(<!-- settings:end -->)/, "$1\nstale\n$2");
    expect(page).not.toBe(docs);
    expect(renderPage(page)).toBe(docs);
    expect(() => renderPage("# Settings\n\nno markers\n")).toThrow(/marker/);
    expect(settingsTables()).toContain("| `AUTH_SECRET` |");
  });
});
