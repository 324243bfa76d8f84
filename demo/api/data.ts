import { createHash } from "node:crypto";

/**
 * Made-up account data, the same for the same subject every time: derived from a hash of `sub`, so the
 * demo needs no database and two users see different figures.
 */
function numbersFor(sub: string, salt: string): number[] {
  const digest = createHash("sha256").update(`${salt}\0${sub}`).digest();
  return [...digest].map((byte) => byte / 255);
}

const money = (amount: number, currency: string) =>
  new Intl.NumberFormat("en-GB", { style: "currency", currency, minimumFractionDigits: 2 }).format(amount);

export type Statement = { id: string; period: string; account: string; opening_balance: string; closing_balance: string };

/** The subject's last three monthly statements, newest first, up to the month of `now`. */
export function statementsFor(sub: string, now: number): { items: Statement[] } {
  const n = numbersFor(sub, "statements");
  const account = `Current account ••${String(Math.floor(n[0]! * 9000) + 1000)}`;
  let closing = Math.round(n[1]! * 500_000) / 100;
  const items: Statement[] = [];
  for (let back = 0; back < 3; back++) {
    const month = new Date(now);
    month.setUTCDate(1);
    month.setUTCMonth(month.getUTCMonth() - back);
    const opening = Math.round((closing - ((n[2 + back]! - 0.4) * 120_000) / 100) * 100) / 100;
    items.push({
      id: `st-${month.toISOString().slice(0, 7)}`,
      period: month.toLocaleDateString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" }),
      account,
      opening_balance: money(opening, "EUR"),
      closing_balance: money(closing, "EUR"),
    });
    closing = opening;
  }
  return { items };
}

export type Holding = { symbol: string; name: string; quantity: number; value: string };

const INSTRUMENTS = [
  { symbol: "LKSP", name: "Lockstep Holdings", price: 41.2 },
  { symbol: "BCHL", name: "Back-Channel Logistics", price: 17.85 },
  { symbol: "SSFX", name: "Shared Signals Index Fund", price: 102.4 },
  { symbol: "DPOP", name: "Proof-of-Possession Bonds", price: 98.1 },
];

/** The subject's holdings: a few of the instruments above, in quantities of its own. */
export function holdingsFor(sub: string): { items: Holding[] } {
  const n = numbersFor(sub, "holdings");
  const items = INSTRUMENTS.filter((_, i) => n[i]! > 0.25 || i === 0).map((instrument, i) => {
    const quantity = Math.floor(n[4 + i]! * 200) + 1;
    return { symbol: instrument.symbol, name: instrument.name, quantity, value: money(quantity * instrument.price, "USD") };
  });
  return { items };
}
