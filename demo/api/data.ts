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

export type Quote = { symbol: string; name: string; price: string; change: string };

/** Public market data: the instruments above, their prices moving a little each minute of `now`. */
export function quotesAt(now: number): { items: Quote[] } {
  const n = numbersFor(String(Math.floor(now / 60_000)), "quotes");
  const items = INSTRUMENTS.map((instrument, i) => {
    const change = Math.round((n[i]! - 0.5) * 400) / 100;
    return {
      symbol: instrument.symbol,
      name: instrument.name,
      price: money(instrument.price * (1 + change / 100), "USD"),
      change: `${change >= 0 ? "+" : ""}${change.toFixed(2)}%`,
    };
  });
  return { items };
}

export type Figure = { figure: string; value: string };

/** The bank-wide report: aggregates over every customer, no one's own figures (for the app's own token). */
export function reportSummary(now: number): { period: string; items: Figure[] } {
  const month = new Date(now).toISOString().slice(0, 7);
  const n = numbersFor(month, "reports");
  return {
    period: month,
    items: [
      { figure: "Customers", value: String(1200 + Math.floor(n[0]! * 300)) },
      { figure: "Deposits", value: money(Math.round(n[1]! * 90_000_000) / 100 + 4_000_000, "EUR") },
      { figure: "Statements issued", value: String(3600 + Math.floor(n[2]! * 900)) },
    ],
  };
}

export type Headline = { id: string; title: string };

const HEADLINES: Headline[] = [
  { id: "n-1", title: "Lockstep Holdings reports a quarter without a stale session" },
  { id: "n-2", title: "Back-channel logout volumes reach a record high" },
  { id: "n-3", title: "Shared Signals Index Fund adds three transmitters" },
  { id: "n-4", title: "Proof-of-possession bonds trade at par after nonce scare" },
  { id: "n-5", title: "Regulators welcome refresh-token rotation" },
];

/** Headlines: the first three for everyone; for a subject, three of its own choosing (from its `sub`), marked as such. */
export function headlinesFor(sub: string | undefined): { personalised: boolean; items: Headline[] } {
  if (sub === undefined) return { personalised: false, items: HEADLINES.slice(0, 3) };
  const n = numbersFor(sub, "news");
  const items = [...HEADLINES]
    .map((headline, i) => ({ headline, rank: n[i]! }))
    .sort((a, b) => b.rank - a.rank)
    .slice(0, 3)
    .map(({ headline }) => ({ ...headline, title: `For you: ${headline.title}` }));
  return { personalised: true, items };
}
