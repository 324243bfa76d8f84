import type { NextRequest } from "next/server";
import { handlers } from "@/auth";
import { signInContext } from "@/lib/check-session/sign-in-context";

export const { POST } = handlers;

export function GET(request: NextRequest): Promise<Response> {
  const sessionState = request.nextUrl.searchParams.get("session_state") ?? undefined;
  return signInContext.run({ sessionState }, () => handlers.GET(request));
}
