import { route } from "@/lib/http/route";
import type { NextRequest } from "next/server";
import { completeSignInRequest, handlers } from "@/auth";
import { signInContext } from "@/lib/check-session/sign-in-context";
import { getConfig } from "@/lib/config";
import { callbackIssuerProblem, pushSignInResponse, signInErrorPath } from "@/lib/oidc/sign-in";

/** The sign-in POST: Auth.js builds the authorization request; Lockstep completes it and, with PAR on, pushes it (RFC 9126). */
export const POST = route(async function POST(request: NextRequest): Promise<Response> {
  const response = await handlers.POST(request);
  return request.nextUrl.pathname.endsWith("/signin/oidc") ? pushSignInResponse(request, response, completeSignInRequest) : response;
});

export const GET = route(async function GET(request: NextRequest): Promise<Response> {
  const { pathname, searchParams } = request.nextUrl;
  if (pathname.endsWith("/callback/oidc")) {
    // RFC 9207 §2.4: a response from another issuer never reaches the code exchange.
    const refused = await callbackIssuerProblem(searchParams);
    if (refused) {
      const location = new URL(signInErrorPath(refused), getConfig().AUTH_URL);
      return new Response(null, { status: 303, headers: { location: location.href, "cache-control": "no-store" } });
    }
  }
  const sessionState = searchParams.get("session_state") ?? undefined;
  return signInContext.run({ sessionState }, () => handlers.GET(request));
});
