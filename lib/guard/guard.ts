import type { Config } from "@/lib/config";
import type { RevocationList } from "@/lib/store/ports";
import type { cookieNames } from "@/lib/session/cookies";
import { openHandle, type SessionHandle } from "@/lib/session/handle";
import { endedNoteCookie, noteOf } from "@/lib/session/ended";
import { isApi, isPublic, isUnguarded } from "./routes";
import { clearCookie, redirectTo, unauthorizedJson, unavailable } from "@/lib/http/responses";
import { decided, tracedGuard } from "@/lib/telemetry/guard";

export type GuardDeps = {
  config: Pick<Config, "AUTH_SECRET" | "AUTH_URL" | "GUARD_FAIL_OPEN">;
  revocations: Pick<RevocationList, "check">;
  cookies: ReturnType<typeof cookieNames>;
  next: () => Response;
};

type GuardRequest = { nextUrl: URL; cookies: { get(name: string): { value: string } | undefined } };

/**
 * The per-request decision. No cookie: public routes pass, others are sent to sign in.
 * A cookie that does not open, or names a session that is over: the cookie is cleared and the
 * request refused. Redis silent: 503 (fail closed) unless GUARD_FAIL_OPEN is set.
 * The session cookie is never re-issued here.
 */
export async function decide(request: GuardRequest, deps: GuardDeps): Promise<Response> {
  const { pathname } = request.nextUrl;
  const api = isApi(pathname);
  if (isUnguarded(pathname)) return deps.next();

  const sealed = request.cookies.get(deps.cookies.session)?.value;
  if (!sealed) {
    if (isPublic(pathname)) return deps.next();
    return decided(api ? unauthorizedJson("no_session") : redirectTo(new URL("/", deps.config.AUTH_URL)), "refuse", "no_session");
  }

  const clear = clearCookie(deps.cookies.session, deps.cookies.secure);
  // The signed-out page reads why from the server's record of this session's ending, found by the
  // sealed note left here in place of the session cookie; no reason travels in the URL.
  const refuse = async (reason: Parameters<typeof unauthorizedJson>[0], handle?: SessionHandle) => {
    const response = api ? unauthorizedJson(reason, clear) : redirectTo(new URL("/signed-out", deps.config.AUTH_URL), clear);
    if (handle) {
      const note = await endedNoteCookie(noteOf(handle), {
        secret: deps.config.AUTH_SECRET,
        name: deps.cookies.ended,
        secure: deps.cookies.secure,
      });
      response.headers.append("Set-Cookie", note);
    }
    return decided(response, "refuse", reason);
  };

  let handle: SessionHandle;
  try {
    handle = await openHandle(sealed, deps.config.AUTH_SECRET, deps.cookies.session);
  } catch {
    return await refuse("expired");
  }

  try {
    const verdict = await deps.revocations.check(handle);
    if (verdict.active) return decided(deps.next(), "allow");
    return await refuse(verdict.reason, handle);
  } catch {
    if (deps.config.GUARD_FAIL_OPEN) {
      console.warn(JSON.stringify({ kind: "security", event: "guard.fail_open", outcome: "error", path: pathname }));
      return decided(deps.next(), "fail_open");
    }
    console.warn(JSON.stringify({ kind: "security", event: "guard.fail_closed", outcome: "error", path: pathname }));
    return decided(unavailable(api), "fail_closed");
  }
}

/** The guard: `decide`, in a span with its decision when an OpenTelemetry SDK runs (lib/telemetry/guard.ts), else as it is. */
export const guard = tracedGuard(decide);
