import Link from "next/link";
import { getConfig } from "@/lib/config";
import { buttonClass, Header } from "./_components/ui";

export default function NotFound() {
  const { APP_NAME } = getConfig();
  return (
    <>
      <Header appName={APP_NAME} />
      <section aria-labelledby="not-found-title" className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
        <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">Not found</p>
        <h1 id="not-found-title" className="mb-2 text-2xl font-bold">
          This page does not exist
        </h1>
        <p className="mb-4 text-slate-700">The address may be mistyped, or the page has moved.</p>
        <Link className={buttonClass} href="/">
          Go to the start page
        </Link>
      </section>
    </>
  );
}
