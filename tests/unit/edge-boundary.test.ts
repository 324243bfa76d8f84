import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The edge guard's bundle must hold only what the edge runtime offers (Web APIs, and packages
 * that run there): no Node built-in, no TCP Redis client, nothing of the demo IdP. Instead of a
 * hand-kept list of edge-safe files, this walks the imports from the edge entry and judges every
 * module the bundle would hold.
 */
const root = path.resolve(__dirname, "../..");
const ENTRY = "middleware.edge.ts";
/** Packages that cannot run on the edge. */
const NODE_ONLY_PACKAGES = ["ioredis", "oidc-provider"];
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** The value imports of a module (type-only imports and exports are erased from the bundle). */
function valueImports(source: string): string[] {
  const specifiers: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*["']([^"']+)["']/g;
  for (const [, , typeOnly, clause, specifier] of source.matchAll(statement)) {
    if (typeOnly) continue;
    const named = /^\{([\s\S]*)\}$/.exec(clause!.trim());
    if (named && named[1]!.split(",").every((part) => part.trim() === "" || part.trim().startsWith("type "))) continue;
    specifiers.push(specifier!);
  }
  for (const [, specifier] of source.matchAll(/(?:^|\n)\s*import\s+["']([^"']+)["']/g)) specifiers.push(specifier!);
  for (const [, specifier] of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specifiers.push(specifier!);
  return specifiers;
}

function resolveLocal(from: string, specifier: string): string | undefined {
  const base = specifier.startsWith("@/") ? path.join(root, specifier.slice(2)) : path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) {
    if (existsSync(candidate) && candidate.match(/\.tsx?$/)) return candidate;
  }
  return undefined;
}

/** Every project module the entry reaches through value imports, and every package it names. */
function reach(entry: string): { modules: Map<string, string[]>; packages: Map<string, string> } {
  const modules = new Map<string, string[]>();
  const packages = new Map<string, string>();
  const pending = [path.join(root, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (modules.has(file)) continue;
    const imports = valueImports(readFileSync(file, "utf8"));
    modules.set(file, imports);
    for (const specifier of imports) {
      if (specifier.startsWith(".") || specifier.startsWith("@/")) {
        const resolved = resolveLocal(file, specifier);
        if (!resolved) throw new Error(`${path.relative(root, file)}: cannot resolve ${specifier}`);
        pending.push(resolved);
      } else packages.set(specifier, path.relative(root, file));
    }
  }
  return { modules, packages };
}

describe("the edge guard's bundle is edge-safe", () => {
  const { modules, packages } = reach(ENTRY);

  it("reaches the guard, the session handle and the REST store's session check, and nothing of the Node server", () => {
    const reached = [...modules.keys()].map((file) => path.relative(root, file));
    expect(reached).toEqual(
      expect.arrayContaining(["lib/guard/guard.ts", "lib/session/handle.ts", "lib/store/redis.ts", "lib/store/upstash.ts"]),
    );
    for (const nodeOnly of ["lib/store/native.ts", "lib/store/native-client.ts", "lib/store/node-requester.ts", "lib/compose/server.ts"]) {
      expect(reached).not.toContain(nodeOnly);
    }
  });

  it("imports no Node built-in and no Node-only package", () => {
    for (const [specifier, importer] of packages) {
      const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!;
      expect(NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(name), `${importer} imports ${specifier}`).toBe(false);
      expect(NODE_ONLY_PACKAGES.includes(name), `${importer} imports ${specifier}`).toBe(false);
    }
  });

  it("uses no Node global in any module it reaches (Buffer, require, __dirname)", () => {
    for (const file of modules.keys()) {
      const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      expect(code, path.relative(root, file)).not.toMatch(/\bBuffer\b|\brequire\(|\b__dirname\b|\bprocess\.(?!env\b)\w/);
    }
  });

  it("would catch a Node module reached through the walk (the test itself is sound)", () => {
    expect(valueImports('import { createHash } from "node:crypto";\nimport type { X } from "ioredis";')).toEqual(["node:crypto"]);
    expect(valueImports('import { type A, type B } from "ioredis";\nexport { c } from "./c";')).toEqual(["./c"]);
  });
});
