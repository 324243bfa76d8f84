"use client";

import type { CSSProperties } from "react";
import { ErrorCard } from "./_components/error-card";
import "./globals.css";

/**
 * The root layout itself failed (for example, the settings did not validate), so neither the app's
 * name nor its accent colour is known here: a neutral accent instead.
 */
export default function GlobalError({ error, retry }: { error: unknown; retry: () => void }) {
  return (
    <html lang="en">
      <head>
        <title>Something went wrong</title>
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased" style={{ "--accent": "#334155" } as CSSProperties}>
        <main className="mx-auto flex min-h-screen max-w-2xl flex-col gap-6 px-4 py-12">
          <div aria-hidden="true" className="border-b-4 border-[var(--accent)] pb-3" />
          <ErrorCard error={error} retry={retry} what="This app" />
        </main>
      </body>
    </html>
  );
}
