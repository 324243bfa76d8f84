import Link from "next/link";
import type { ReactNode } from "react";

export function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section aria-labelledby={`card-${title}`} className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
      <h2 id={`card-${title}`} className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">
        {title}
      </h2>
      {children}
    </section>
  );
}

export function Header({ appName, children }: { appName: string; children?: ReactNode }) {
  return (
    <header className="flex flex-wrap items-center justify-between gap-2 border-b-4 border-[var(--accent)] pb-3">
      <Link
        href="/"
        className="text-xl font-bold text-[var(--accent)] focus:outline-none focus-visible:ring-2 focus-visible:ring-[var(--accent)]"
      >
        {appName}
      </Link>
      {children ?? <span className="text-xs text-slate-600">tokens stay on the server</span>}
    </header>
  );
}

export const buttonClass =
  "inline-flex items-center rounded-lg bg-[var(--accent)] px-4 py-2 text-sm font-semibold text-white hover:opacity-90 focus:outline-none focus-visible:ring-2 focus-visible:ring-[var(--accent)] focus-visible:ring-offset-2";

export const secondaryButtonClass =
  "inline-flex items-center rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-[var(--accent)] focus-visible:ring-offset-2";

/** A label/value list, e.g. the details of a session: two columns when there is room, one on a phone. Long values wrap. */
export function Details({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_minmax(0,1fr)] sm:gap-y-2">
      {rows.map(([label, value]) => (
        <div key={label} className="contents">
          <dt className="font-medium text-slate-600">{label}</dt>
          <dd className="mb-2 min-w-0 text-slate-900 [overflow-wrap:anywhere] sm:mb-0">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A UTC time that never breaks inside ("UTC" stays with it); `precise` adds milliseconds. */
export function Time({ ms, precise = false }: { ms: number; precise?: boolean }) {
  const iso = new Date(ms).toISOString();
  return (
    <time dateTime={iso} className="whitespace-nowrap font-mono">
      {iso.replace("T", " ").slice(0, precise ? 23 : 19)} UTC
    </time>
  );
}

/** What a page shows when its session cannot be checked (the store is down and GUARD_FAIL_OPEN let the request through). */
export function SessionUnavailable({ appName }: { appName: string }) {
  return (
    <>
      <Header appName={appName} />
      <section role="alert" className="rounded-xl border border-amber-300 bg-amber-50 p-4 shadow-sm sm:p-6">
        <h1 className="mb-2 text-2xl font-bold">Your session cannot be checked right now</h1>
        <p className="text-slate-700">
          This app cannot reach its session store, so it shows nothing that needs your session. Nothing is lost: try again in a moment.
        </p>
      </section>
    </>
  );
}
