/**
 * How the news of this tab's ending came to it, noted by the session watcher for the signed-out page.
 * Per tab (sessionStorage), on this device's clock: `receivedAt` is when the tab knew (for "self", when
 * the user pressed Sign out), `sentAt` when another tab sent it, and `answeredAt` (for "self") when the
 * server answered that the session had ended.
 */
export type Delivery = {
  via: "broadcast" | "push" | "check" | "session_iframe" | "self";
  receivedAt: number;
  sentAt?: number;
  answeredAt?: number;
};

export const DELIVERY_KEY = "lockstep:delivery";

export function noteDelivery(delivery: Delivery): void {
  try {
    sessionStorage.setItem(DELIVERY_KEY, JSON.stringify(delivery));
  } catch {
    // Storage unavailable: the signed-out page just says less.
  }
}
