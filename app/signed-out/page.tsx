import type { Metadata } from "next";
import Link from "next/link";
import { cookies } from "next/headers";
import { getServer } from "@/lib/compose/server";
import { readEndedNote } from "@/lib/session/ended";
import { buttonClass, Header, Time } from "../_components/ui";
import { IdpSignOutForm } from "./idp-sign-out";
import { mechanismText } from "../_components/ending-text";
import { readEnding } from "./ending";
import { parseSignInFailureCode, signInFailureCookie } from "@/lib/oidc/sign-in-errors";
import { messageFor, signInFailureMessage, type Message } from "./messages";
import { HowItReached } from "./how-it-reached";
import { IdpAnswerBody } from "./idp-answer";
import { getIdpMetadata } from "@/lib/oidc/client";

export const dynamic = "force-dynamic";

export const metadata: Metadata = { title: "Signed out" };

const refused: Message = {
  title: "Sign-in refused",
  body: "This account cannot sign in to this app right now (for example, it has been disabled).",
  code: "sign_in_refused",
};

/**
 * Auth.js's error codes (its `pages.error` is this page): a refused sign-in, the store unavailable
 * (auth.ts's signIn callback), or one that failed on our side ("Configuration", refined by the cookie
 * Auth.js's logger set: lib/oidc/sign-in-errors.ts).
 */
function signInErrorMessage(error: string, failureCode: string | undefined, app: string, appUrl: string): Message | undefined {
  if (error === "AccessDenied") return refused;
  if (error === "unavailable") return signInFailureMessage("store_unavailable", app, appUrl);
  if (error === "Configuration") return signInFailureMessage(parseSignInFailureCode(failureCode) ?? "sign_in_failed", app, appUrl);
  return undefined;
}

/**
 * The signed-out page. What it says comes from the server's record of this browser's own ending,
 * found through the sealed note that replaced the session cookie (lib/session/ended.ts); a `reason`
 * in the URL changes nothing. Only Auth.js's sign-in errors come as a parameter (`error`), and they
 * speak of a sign-in, never of a sign-out.
 */
export default async function SignedOut({ searchParams }: { searchParams: Promise<{ error?: string | string[] }> }) {
  const server = getServer();
  const { APP_NAME } = server.config;
  const { error } = await searchParams;
  const jar = await cookies();
  const note = await readEndedNote(jar.get(server.cookies.ended)?.value, server.config.AUTH_SECRET, server.cookies.ended);
  const failureCode = jar.get(signInFailureCookie(server.config.APP_ID, server.cookies.secure).name)?.value;
  const signInError = typeof error === "string" ? signInErrorMessage(error, failureCode, APP_NAME, server.config.AUTH_URL) : undefined;
  const ending = signInError ? ({ state: "none" } as const) : await readEnding(server, note);
  const message = signInError ?? messageFor(ending, APP_NAME);
  const ended = ending.state === "ended" ? ending : undefined;
  // SM 1.0 §3.3: the IdP's check_session_iframe, when it offers one and SESSION_MANAGEMENT is not off.
  const askIdp =
    message.askIdp && server.config.SESSION_MANAGEMENT === "auto"
      ? await getIdpMetadata().then(
          (metadata) => (typeof metadata.check_session_iframe === "string" ? metadata.check_session_iframe : undefined),
          () => undefined,
        )
      : undefined;
  const signInAgain =
    message.code === "active" ? (
      <Link className={buttonClass} href="/account">
        Back to your account
      </Link>
    ) : (
      <Link className={buttonClass} href="/">
        Sign in again
      </Link>
    );

  return (
    <>
      <Header appName={APP_NAME} />
      <section aria-labelledby="signed-out-title" className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
        <p className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">
          {message.code === "active" ? "Still signed in" : "Signed out"}
        </p>
        <h1
          id="signed-out-title"
          className="mb-2 text-2xl font-bold"
          data-reason={message.code}
          data-mechanism={ended?.mechanism ?? "none"}
          data-idp={note?.logout ?? "none"}
        >
          {message.title}
        </h1>
        {askIdp && note ? (
          <IdpAnswerBody
            checkSessionIframe={askIdp}
            clientId={server.config.OIDC_CLIENT_ID}
            sessionId={note.lsid}
            appName={APP_NAME}
            fallback={message.body}
          >
            {signInAgain}
          </IdpAnswerBody>
        ) : (
          <>
            <p className="mb-4 text-slate-700" data-testid="signed-out-body">
              {message.body}
            </p>
            <div className="flex flex-wrap gap-3">
              {signInAgain}
              {message.idpMayBeActive && <IdpSignOutForm />}
            </div>
          </>
        )}
      </section>

      {ended && (
        <section
          aria-labelledby="how-title"
          className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6"
          data-testid="how-it-reached"
        >
          <h2 id="how-title" className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-600">
            How the sign-out reached this tab
          </h2>
          <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]">
            <dt className="font-medium text-slate-600">Carried by</dt>
            <dd className="mb-2 text-slate-900 sm:mb-0" data-testid="mechanism">
              {ended.mechanism
                ? mechanismText[ended.mechanism]
                : "nothing recorded (a mark on the revocation list, or the session's own expiry)"}
            </dd>
            {ended.sentAt !== undefined && ended.mechanism === "liveness_check" && (
              <>
                <dt className="font-medium text-slate-600">Last found live at the identity provider</dt>
                <dd className="mb-2 text-slate-900 sm:mb-0" data-testid="last-live">
                  <Time ms={ended.sentAt} precise />{" "}
                  <span className="text-slate-600">(the session ended there between this check and the next)</span>
                </dd>
              </>
            )}
            {ended.sentAt !== undefined && ended.mechanism !== "liveness_check" && (
              <>
                <dt className="font-medium text-slate-600">Sent by the identity provider</dt>
                <dd className="mb-2 text-slate-900 sm:mb-0">
                  <Time ms={ended.sentAt} /> <span className="text-slate-600">(the token&apos;s issue time, whole seconds)</span>
                </dd>
              </>
            )}
            {ended.at !== undefined && (
              <>
                <dt className="font-medium text-slate-600">Recorded by {APP_NAME}</dt>
                <dd className="mb-2 text-slate-900 sm:mb-0">
                  <Time ms={ended.at} precise />
                </dd>
              </>
            )}
            {ended.at !== undefined && <HowItReached recordedAt={ended.at} appName={APP_NAME} />}
          </dl>
        </section>
      )}
    </>
  );
}
