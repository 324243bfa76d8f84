"use client";

import Link from "next/link";
import type { CSSProperties } from "react";
import { buttonClass, secondaryButtonClass } from "./components";
import { safeDigest } from "./error-details";
import "./globals.css";

/**
 * The root layout itself failed (for example, the settings did not validate), so neither the app's
 * name nor its accent colour is known here: a neutral accent instead.
 */
export default function GlobalError({ error, retry }: { error: unknown; retry: () => void }) {
  const digest = safeDigest(error);
  return (
    <html lang="en">
      <head>
        <title>Something went wrong</title>
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased" style={{ "--accent": "#334155" } as CSSProperties}>
        <main className="mx-auto flex min-h-screen max-w-2xl flex-col gap-6 px-4 py-12">
          <div aria-hidden="true" className="border-b-4 border-[var(--accent)] pb-3" />
          <section aria-labelledby="global-error-title" className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
            <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">Error</p>
            <h1 id="global-error-title" className="mb-2 text-2xl font-bold">
              Something went wrong
            </h1>
            <p className="mb-4 text-slate-700">This app could not be shown. Try again in a moment.</p>
            {digest && (
              <p className="mb-4 text-sm text-slate-600">
                Reference: <code className="font-mono">{digest}</code>
              </p>
            )}
            <div className="flex flex-wrap gap-3">
              <button type="button" className={buttonClass} onClick={() => retry()}>
                Try again
              </button>
              <Link className={secondaryButtonClass} href="/">
                Go to the start page
              </Link>
            </div>
          </section>
        </main>
      </body>
    </html>
  );
}
