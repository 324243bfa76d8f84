import { cookies } from "next/headers";
import { getServer } from "@/lib/compose/server";
import { StoreError } from "@/lib/store/errors";
import { currentSession, type CurrentSession } from "./current";
import { noteSeen } from "./last-seen";

/** For a page: the session, or "unavailable" when the store cannot answer (pages reach here then only with GUARD_FAIL_OPEN). */
export type PageSession = CurrentSession | { state: "unavailable" };

/** The current session for a server component (the second gate, as in route handlers). Never throws a store error. */
export async function currentSessionFromCookies(): Promise<PageSession> {
  const jar = await cookies();
  const server = getServer();
  try {
    const current = await currentSession(server.gate, jar.get(server.cookies.session)?.value);
    if (current.state === "active") noteSeen(server.sessions, current.id);
    return current;
  } catch (error) {
    if (error instanceof StoreError) return { state: "unavailable" };
    throw error;
  }
}
