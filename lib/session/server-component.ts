import { cookies } from "next/headers";
import { getContext } from "@/lib/context";
import { currentSession, type CurrentSession } from "./current";

/** The current session for a server component (the second gate, as in route handlers). */
export async function currentSessionFromCookies(): Promise<CurrentSession> {
  const jar = await cookies();
  return currentSession(jar.get(getContext().cookies.session)?.value);
}
