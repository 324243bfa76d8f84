/**
 * `npm run make-it-yours`'s plan for this checkout (scripts/make-it-yours.ts), computed without
 * changing anything: what it would remove and how it would rewrite the files that stay. CI also runs
 * the command for real on a clone and the resulting project's checks and tiers (.ci/run); this is the
 * quick check. It lives with the demo because the command goes once the demo and the gateway are gone.
 */
import { describe, expect, it } from "vitest";
import { makePlan } from "../../scripts/make-it-yours";

describe("npm run make-it-yours -- --gateway (its plan)", () => {
  const plan = makePlan({ gateway: true });
  const edited = (file: string) => plan.edits.get(file)?.content ?? "";

  it("removes both workspaces and the folders of the tiers that need them", () => {
    expect(plan.targets).toEqual(["demo", "gateway"]);
    for (const path of ["demo", "gateway", "tests/integration", "tests/e2e", "tests/outage", "tests/thirdparty", "docs/demo.md"]) {
      expect([...plan.removals.keys()], path).toContain(path);
    }
    expect(plan.removals.has("tests/support/lockstep.ts")).toBe(true);
  });

  it("keeps what the template's own tiers use", () => {
    for (const path of ["tests/unit", "tests/store", "tests/template", "tests/support/next-app.ts", "tests/support/processes.ts"]) {
      expect(
        [...plan.removals.keys()].some((gone) => path === gone || path.startsWith(`${gone}/`)),
        path,
      ).toBe(false);
    }
  });

  it("leaves vitest.config.ts with the template's tiers only", () => {
    const config = edited("vitest.config.ts");
    expect(config).not.toMatch(/demoTiers|gatewayTiers|tests\/integration|demo\/|gateway\//);
    expect(config).toContain("projects: [...templateTiers]");
  });

  it("makes `npm run dev` plain `next dev` and drops every script and workspace that names them", () => {
    const pkg = JSON.parse(edited("package.json")) as { scripts: Record<string, string>; workspaces?: string[] };
    expect(pkg.workspaces).toBeUndefined();
    expect(pkg.scripts.dev).toBe("next dev");
    expect(Object.values(pkg.scripts).filter((command) => /@lockstep\/|--workspace/.test(command))).toEqual([]);
    expect(pkg.scripts["make-it-yours"]).toBeUndefined();
  });

  it("removes the demo's CI steps and keeps the rest", () => {
    expect(edited(".ci/run")).not.toContain("make-it-yours");
    expect(edited(".ci/run")).toContain("npm test");
    expect(edited(".github/workflows/ci.yml")).not.toMatch(/make-it-yours|glewlwyd|setup-chrome|CHROMIUM_PATH/);
    expect(edited(".github/workflows/ci.yml")).toContain("run: npm test");
  });

  it("drops the gateway's settings from .env.example and keeps the app's", () => {
    const example = edited(".env.example");
    expect(example).not.toMatch(/GATEWAY_|make-it-yours|Lockstep gateway/);
    for (const key of ["REDIS_URL=", "REDIS_CLUSTER_NODES=", "UPSTASH_REDIS_REST_URL=", "AUTH_SECRET="]) expect(example).toContain(key);
  });

  it("says in the README what was removed, and leaves no link to a removed page", () => {
    const readme = edited("README.md");
    expect(readme).toMatch(/`npm run make-it-yours` removed the demo and the Redis\s+gateway/);
    expect(readme).not.toMatch(/## A five-minute tour|npm run demo|\]\(docs\/demo\.md\)/);
    expect(plan.warnings).toEqual([]);
  });
});

describe("npm run make-it-yours (the gateway kept)", () => {
  const plan = makePlan({ gateway: false });

  it("keeps the gateway, its tier, its script and this command", () => {
    expect(plan.targets).toEqual(["demo"]);
    expect(plan.removals.has("gateway")).toBe(false);
    expect(plan.removals.has("scripts/make-it-yours.ts")).toBe(false);
    const pkg = JSON.parse(plan.edits.get("package.json")!.content) as {
      scripts: Record<string, string>;
      workspaces?: string[];
      devDependencies: Record<string, string>;
    };
    expect(pkg.workspaces).toEqual(["gateway"]);
    expect(pkg.scripts.gateway).toBeDefined();
    expect(Object.keys(pkg.devDependencies)).not.toContain("playwright-core");
    expect(plan.edits.get("vitest.config.ts")!.content).toContain("...gatewayTiers");
    expect(plan.edits.has(".env.example")).toBe(false);
  });
});
