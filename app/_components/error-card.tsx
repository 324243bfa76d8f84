"use client";

import Link from "next/link";
import { buttonClass, secondaryButtonClass } from "./ui";
import { safeDigest } from "./error-details";

/** The card both error pages show: a generic text and at most the error's digest, never its message. */
export function ErrorCard({ error, retry, what }: { error: unknown; retry: () => void; what: string }) {
  const digest = safeDigest(error);
  return (
    <section aria-labelledby="error-title" className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
      <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">Error</p>
      <h1 id="error-title" className="mb-2 text-2xl font-bold">
        Something went wrong
      </h1>
      <p className="mb-4 text-slate-700">{what} could not be shown. Try again in a moment.</p>
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
  );
}
