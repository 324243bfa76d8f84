import { describe, expect, it } from "vitest";
import { percentile } from "../scripts/percentile";

/** The benchmarks' percentiles (nearest rank): what "p95 of 20 tab runs" means in docs/benchmarks.md. */
describe("percentile (nearest rank)", () => {
  const twenty = Array.from({ length: 20 }, (_, i) => 20 - i); // 20, 19, …, 1: unsorted on purpose

  it("p95 of 20 samples is the 19th smallest, not the largest", () => {
    expect(percentile(twenty, 95)).toBe(19);
  });

  it("p50 is the value with half the samples at or below it; p100 the largest, p0 the smallest", () => {
    expect(percentile(twenty, 50)).toBe(10);
    expect(percentile(twenty, 100)).toBe(20);
    expect(percentile(twenty, 0)).toBe(1);
  });

  it("one sample is every percentile of itself; none gives NaN; the input is not reordered", () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(twenty[0]).toBe(20);
  });
});
