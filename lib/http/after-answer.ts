import { after } from "next/server";
import type { Defer } from "@/lib/revocation/deferred";
import { StoreError } from "@/lib/store/errors";
import { securityLog } from "@/lib/log/security-log";

/**
 * The route handlers' Defer: Next's `after()`, which runs a task once the response has been sent
 * (and, on Vercel, keeps the function alive for it through `waitUntil`). Each task's result is
 * logged as one line; a failure is logged with its code only, never its message.
 */
export const afterAnswer: Defer = (event, task) => {
  after(async () => {
    try {
      const result = (await task()) ?? {};
      const failed = typeof result.failed === "number" && result.failed > 0;
      securityLog({ event, outcome: failed ? "error" : "ok", ...result });
    } catch (error) {
      securityLog({
        event,
        outcome: "error",
        code: error instanceof StoreError ? error.code : "internal_error",
        operation: error instanceof StoreError ? error.operation : undefined,
      });
    }
  });
};
