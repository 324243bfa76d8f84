import { StoreError } from "@/lib/store/errors";
import { unavailable } from "@/lib/http/responses";
import { securityLog } from "@/lib/log/security-log";

type Handler<R extends Request, C> = (request: R, context: C) => Response | Promise<Response>;

/**
 * Wraps every route handler: a store failure that escapes the handler (every store call throws
 * StoreError, lib/store/errors.ts) is answered 503 with Retry-After (RFC 9110 §15.6.4), as JSON, or
 * as a page when the browser navigated here, instead of Next's 500. It is logged with the method,
 * the route's path (its first three segments: never a remote API's path or a query) and the store
 * operation, never the driver's message. A handler that answers a store failure in its own
 * protocol's words (BCL §2.8, RFC 8935 §2.3) still does so; this is the net under all of them. Any
 * other error is a bug and goes on to Next.
 */
export function route<R extends Request, C>(handler: Handler<R, C>): (request: R, context: C) => Promise<Response> {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      securityLog({
        event: "route.store_unavailable",
        outcome: "error",
        code: error.code,
        method: request.method,
        path: new URL(request.url).pathname.split("/").slice(0, 4).join("/"),
        operation: error.operation,
      });
      return unavailable(!(request.headers.get("accept") ?? "").includes("text/html"));
    }
  };
}
