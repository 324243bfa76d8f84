import Link from "next/link";
import { getConfig } from "@/lib/config";
import { buttonClass, Header } from "../components";

export const dynamic = "force-dynamic";

const messages: Record<string, { title: string; body: string }> = {
  logout: { title: "You signed out", body: "Your session here and at your identity provider has ended." },
  logout_unconfirmed: {
    title: "You signed out here",
    body: "Your session in this app has ended. We could not confirm the sign-out at your identity provider, so you may still be signed in there.",
  },
  revoked: { title: "Your session was ended", body: "Your identity provider ended this session (for example, you signed out in another app, or an administrator ended it)." },
  frontchannel_logout: { title: "You were signed out", body: "Your identity provider signed you out of this app (front-channel logout)." },
  idp_session_changed: { title: "Your sign-in changed", body: "Your session at your identity provider ended or changed, so this app signed you out." },
  security_event: {
    title: "Signed out for your security",
    body: "Your identity provider or a security system reported a change to your account (for example, your session was revoked, your password changed or the account was disabled).",
  },
  ended_elsewhere: { title: "Signed out from another device", body: "This session was ended from another of your sessions." },
  expired: { title: "Your session expired", body: "Sessions last a limited time. Sign in again to continue." },
  refresh_failed: { title: "Your session could not be renewed", body: "Your identity provider no longer accepts this session. Sign in again to continue." },
};

const fallback = { title: "You are signed out", body: "Sign in again to continue." };

const refused = { title: "Sign-in refused", body: "This account cannot sign in to this app right now (for example, it has been disabled)." };

export default async function SignedOut({ searchParams }: { searchParams: Promise<{ reason?: string | string[]; error?: string | string[] }> }) {
  const { APP_NAME } = getConfig();
  const { reason, error } = await searchParams;
  // Auth.js sends refused sign-ins here with ?error=AccessDenied.
  const message =
    error === "AccessDenied" ? refused : ((typeof reason === "string" && Object.hasOwn(messages, reason) ? messages[reason] : undefined) ?? fallback);
  return (
    <>
      <Header appName={APP_NAME} />
      <section aria-labelledby="signed-out-title" className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
        <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">Signed out</p>
        <h1 id="signed-out-title" className="mb-2 text-2xl font-bold" data-reason={error === "AccessDenied" ? "sign_in_refused" : typeof reason === "string" ? reason : "none"}>
          {message.title}
        </h1>
        <p className="mb-4 text-slate-700">{message.body}</p>
        <Link className={buttonClass} href="/">
          Sign in again
        </Link>
      </section>
    </>
  );
}
