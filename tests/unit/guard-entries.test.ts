import { describe, expect, it } from "vitest";
import { config as edgeConfig } from "@/middleware.edge";
import { config as nodeConfig } from "@/proxy.node";

describe("the two guard entries (GUARD_RUNTIME)", () => {
  it("guard exactly the same requests: the edge middleware and the Node proxy have one matcher", () => {
    expect(nodeConfig).toEqual(edgeConfig);
  });
});
