/** How the news of this tab's ending came to it, noted by the session watcher for the signed-out page. Per tab (sessionStorage). */
export type Delivery = { via: "broadcast" | "push" | "check" | "session_iframe" | "self"; receivedAt: number; sentAt?: number };

export const DELIVERY_KEY = "lockstep:delivery";

export function noteDelivery(delivery: Delivery): void {
  try {
    sessionStorage.setItem(DELIVERY_KEY, JSON.stringify(delivery));
  } catch {
    // Storage unavailable: the signed-out page just says less.
  }
}
