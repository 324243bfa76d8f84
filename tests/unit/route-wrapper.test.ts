import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { route } from "@/lib/http/route";
import { StoreError } from "@/lib/store/errors";

const root = path.resolve(__dirname, "../..");
const METHODS = "GET|HEAD|OPTIONS|POST|PUT|PATCH|DELETE";

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return routeFiles(full);
    return entry.name === "route.ts" ? [full] : [];
  });
}

describe("every route handler answers a store failure with 503, never 500", () => {
  it("wraps every exported HTTP method of every route in route() (lib/http/route.ts)", () => {
    const files = routeFiles(path.join(root, "app"));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const name = path.relative(root, file);
      // A bare `export function GET` escapes the wrapper.
      expect(text, name).not.toMatch(new RegExp(`export (async )?function (${METHODS})\\b`));
      const exported = [...text.matchAll(new RegExp(`export const (${METHODS}) = ([^;\\n]+)`, "g"))];
      expect(exported.length, name).toBeGreaterThan(0);
      for (const [, , value] of exported) {
        const wrapped = value!.startsWith("route(") || new RegExp(`const ${value!.trim()} = route\\(`).test(text);
        expect(wrapped, `${name}: ${value}`).toBe(true);
      }
    }
  });

  it("turns a StoreError into 503 with Retry-After: JSON for a script, a page for a navigation", async () => {
    const failing = route(async () => {
      throw new StoreError("sessions.find");
    });
    const json = await failing(new Request("http://localhost/api/sessions/end", { method: "POST" }), undefined);
    expect(json.status).toBe(503);
    expect(json.headers.get("retry-after")).toBeTruthy();
    expect(((await json.json()) as { error: string }).error).toBe("temporarily_unavailable");
    const page = await failing(new Request("http://localhost/api/logout", { method: "POST", headers: { accept: "text/html" } }), undefined);
    expect(page.status).toBe(503);
    expect(page.headers.get("content-type")).toContain("text/html");
  });

  it("lets any other error through to Next: a bug is not an outage", async () => {
    const broken = route(async () => {
      throw new TypeError("a bug");
    });
    await expect(broken(new Request("http://localhost/api/session"), undefined)).rejects.toThrow("a bug");
  });
});
