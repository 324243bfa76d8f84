import { getContext } from "@/lib/context";
import { EndedSessionsHub } from "./hub";

let hub: EndedSessionsHub | undefined;

/** This instance's hub (Node runtime). */
export function getEndedSessionsHub(): EndedSessionsHub {
  if (!hub) {
    const { redis, keys, config } = getContext();
    hub = new EndedSessionsHub(redis, keys, config.LIVE_POLL_INTERVAL_MS);
  }
  return hub;
}
