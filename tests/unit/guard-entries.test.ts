import { describe, expect, it } from "vitest";
import { config as edgeConfig } from "@/middleware.edge";
import { config as nodeConfig } from "@/proxy.node";
import { withDeadline } from "@/lib/compose/node-guard";
import { StoreError } from "@/lib/store/errors";
import type { SessionHandle } from "@/lib/session/handle";

const handle: SessionHandle = { lsid: "a".repeat(43), iss: "https://idp.example", sub: "alice", createdAt: 1 };

describe("the two guard entries (GUARD_RUNTIME)", () => {
  it("guard exactly the same requests: the edge middleware and the Node proxy have one matcher", () => {
    expect(nodeConfig).toEqual(edgeConfig);
  });

  it("the Node guard's check fails within GUARD_REDIS_TIMEOUT_MS when Redis does not answer, so the guard fails closed", async () => {
    const silent = withDeadline({ check: () => new Promise(() => {}) }, 30);
    const started = Date.now();
    await expect(silent.check(handle)).rejects.toBeInstanceOf(StoreError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("the Node guard's check passes the store's verdict and errors through", async () => {
    await expect(withDeadline({ check: async () => ({ active: true }) }, 1_000).check(handle)).resolves.toEqual({ active: true });
    await expect(
      withDeadline(
        {
          check: async () => {
            throw new StoreError("revocation.check");
          },
        },
        1_000,
      ).check(handle),
    ).rejects.toBeInstanceOf(StoreError);
  });
});
