import Link from "next/link";
import type { ReactNode } from "react";

export function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section aria-label={title} className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
      <h2 className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">{title}</h2>
      {children}
    </section>
  );
}

export function Header({ appName }: { appName: string }) {
  return (
    <header className="flex items-center justify-between">
      <Link href="/" className="text-xl font-bold text-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
        {appName}
      </Link>
      <span className="text-xs text-slate-600">tokens stay on the server</span>
    </header>
  );
}

export const buttonClass =
  "inline-flex items-center rounded-lg bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2";
