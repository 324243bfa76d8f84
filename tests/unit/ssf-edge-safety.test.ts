import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * The SET validator and subject model must run anywhere, the edge runtime included: Web APIs, jose
 * and zod only (STYLE.md "Edge-safe by construction"). The receiver's composition (Redis, the
 * session store, the security log) lives next to them in lib/ssf/ and is not held to this.
 */
const PURE = ["errors.ts", "events.ts", "subject.ts", "validate.ts"];
const dir = fileURLToPath(new URL("../../lib/ssf/", import.meta.url));

describe("the SET validator and subject model are edge-safe", () => {
  for (const file of PURE) {
    it(`lib/ssf/${file} imports only jose, zod and the other pure modules, and uses no Node globals`, () => {
      const source = readFileSync(`${dir}${file}`, "utf8");
      const specifiers = [...source.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1] as string);
      for (const specifier of specifiers) {
        const pureSibling = specifier.startsWith("./") && PURE.includes(`${specifier.slice(2)}.ts`);
        expect(specifier === "jose" || specifier === "zod" || pureSibling, `${file} imports ${specifier}`).toBe(true);
      }
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      expect(code, file).not.toMatch(/\b(?:Buffer|process)\.\w|\bBuffer\(|\brequire\(|\b__dirname\b/);
    });
  }
});
