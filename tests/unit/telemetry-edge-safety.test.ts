import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * lib/telemetry/ is imported by the edge guard (lib/guard/guard.ts) and by code the edge bundles
 * share: it must run there, where no SDK ever registers (STYLE.md "Edge-safe by construction"). Every
 * module but the Node SDK's own (sdk.ts, and scrub.ts, which only it imports) may load nothing but
 * @opentelemetry/api and its siblings at run time (type-only imports are erased), and uses no Node global.
 */
const NODE_ONLY = ["sdk.ts", "scrub.ts"];
const dir = fileURLToPath(new URL("../../lib/telemetry/", import.meta.url));
const modules = readdirSync(dir).filter((f) => f.endsWith(".ts") && !NODE_ONLY.includes(f));

describe("lib/telemetry is edge-safe but for the SDK itself", () => {
  it("has modules to check", () => {
    expect(modules).toContain("guard.ts");
  });

  for (const file of modules) {
    it(`lib/telemetry/${file} loads only @opentelemetry/api and its edge-safe siblings, and uses no Node globals`, () => {
      const source = readFileSync(`${dir}${file}`, "utf8");
      const loaded = [...source.matchAll(/^import\s+(?!type\b)[^;]*?from\s+["']([^"']+)["']/gms)].map((m) => m[1] as string);
      const dynamic = [...source.matchAll(/\bimport\s*\(\s*["']([^"']+)["']/g)].map((m) => m[1] as string);
      for (const specifier of [...loaded, ...dynamic]) {
        const sibling = specifier.startsWith("./") && !NODE_ONLY.includes(`${specifier.slice(2)}.ts`);
        expect(specifier === "@opentelemetry/api" || sibling, `${file} loads ${specifier}`).toBe(true);
      }
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      expect(code, file).not.toMatch(/\b(?:Buffer|process)\.\w|\bBuffer\(|\brequire\(|\b__dirname\b/);
    });
  }
});
