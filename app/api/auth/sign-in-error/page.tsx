import type { Metadata } from "next";
import Link from "next/link";
import { getConfig } from "@/lib/config";
import type { SignInErrorCode } from "@/lib/oidc/sign-in";
import { buttonClass, Header } from "../../../_components/ui";

export const dynamic = "force-dynamic";

export const metadata: Metadata = { title: "Sign-in failed" };

type Message = { title: string; body: string };

const unavailable = (why: string): Message => ({
  title: "Sign-in is not available right now",
  body: `${why} Nothing is wrong with your account: try again in a moment, and if it keeps happening, tell the people who run this app.`,
});

const notFromYourIdp: Message = {
  title: "Sign-in failed",
  body: "The answer that came back to this app did not come from its identity provider, so it was not used and you are not signed in. Start again from this app.",
};

/** What a sign-in that failed on Lockstep's side says (lib/oidc/sign-in.ts): the code is shown for whoever runs the app, nothing else. */
const messages: Record<SignInErrorCode, Message> = {
  par_unsupported: {
    title: "Sign-in is not available",
    body: "This app starts every sign-in with a pushed authorization request, and its identity provider does not offer them. Nothing is wrong with your account: the people who run this app need to change its settings.",
  },
  par_refused: unavailable("The identity provider refused this app's sign-in request, so you were not sent there."),
  par_failed: unavailable("This app could not hand its sign-in request to the identity provider."),
  iss_mismatch: notFromYourIdp,
  iss_missing: notFromYourIdp,
  iss_repeated: notFromYourIdp,
};

/** GET /api/auth/sign-in-error?code=…: where a sign-in that Lockstep itself stopped lands. */
export default async function SignInError({ searchParams }: { searchParams: Promise<{ code?: string | string[] }> }) {
  const { APP_NAME } = getConfig();
  const { code } = await searchParams;
  const known = typeof code === "string" && Object.hasOwn(messages, code) ? (code as SignInErrorCode) : undefined;
  const message = known
    ? messages[known]
    : { title: "Sign-in failed", body: "Signing you in did not complete. Start again from this app." };
  return (
    <>
      <Header appName={APP_NAME} />
      <section aria-labelledby="sign-in-error-title" className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">Not signed in</p>
        <h1 id="sign-in-error-title" className="mb-2 text-2xl font-bold" data-code={known ?? "unknown"}>
          {message.title}
        </h1>
        <p className="mb-4 text-slate-700">{message.body}</p>
        {known && (
          <p className="mb-4 text-sm text-slate-600">
            Code: <code className="font-mono">{known}</code>
          </p>
        )}
        <Link className={buttonClass} href="/">
          Back to sign-in
        </Link>
      </section>
    </>
  );
}
