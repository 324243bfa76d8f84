import { cookies } from "next/headers";
import { getServer } from "@/lib/compose/node";
import { currentSession, type CurrentSession } from "./current";

/** The current session for a server component (the second gate, as in route handlers). */
export async function currentSessionFromCookies(): Promise<CurrentSession> {
  const jar = await cookies();
  const server = getServer();
  return currentSession(server.gate, jar.get(server.cookies.session)?.value);
}
