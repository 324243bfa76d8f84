import type { Redis } from "@upstash/redis";
import type { Keys } from "@/lib/store/keys";
import type { SessionHandle } from "@/lib/session/handle";
import { judge, revocationKeys, type Verdict } from "./verdict";

/**
 * Asks Redis, in one round trip (one /pipeline request), whether a session was revoked by its id,
 * by its IdP session (iss, sid) or by its subject (iss, sub), and whether its record still exists.
 * Edge-safe. Throws when Redis cannot answer: the caller decides to fail closed or open.
 */
export async function checkSession(redis: Redis, k: Keys, handle: SessionHandle): Promise<Verdict> {
  const [exists, values] = await redis
    .pipeline()
    .exists(k.session(handle.lsid))
    .mget<(string | null)[]>(...revocationKeys(k, handle))
    .exec<[number, (string | null)[]]>();
  return judge(handle, exists === 1, values);
}
