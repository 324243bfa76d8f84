import { TAG_LENGTH } from "@/lib/store/keys";
import { coverage, statusLine } from "@/lib/liveness/coverage";
import type { IdpLogoutMetadata } from "@/lib/liveness/plan";
import type { Metadata } from "next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { getServer } from "@/lib/compose/server";
import { currentSessionFromCookies } from "@/lib/session/server-component";
import { StoreError } from "@/lib/store/errors";
import { deviceLabel } from "@/lib/session/record";
import { unseal } from "@/lib/session/handle";
import type { ActivityEntry, StoredSession } from "@/lib/store/ports";
import { buttonClass, Card, Details, Header, secondaryButtonClass, SessionUnavailable, Time } from "../_components/ui";
import { mechanismShort, reasonShort } from "../_components/ending-text";
import { SessionWatcher } from "./session-watcher";
import { SessionIframe } from "./session-iframe";
import { LiveSession } from "./live-session";
import { getIdpMetadata } from "@/lib/oidc/client";
import { resolveApis } from "@/lib/api/registry";
import { fetchApi } from "@/lib/api/fetch-api";
import apis from "@/apis";
import { ApiCard, type DashboardApi } from "./api-card";

export const dynamic = "force-dynamic";

export const metadata: Metadata = { title: "Signed in" };

const activityText: Record<string, string> = {
  signed_in: "Signed in",
  token_refreshed: "Access token refreshed on the server",
  ended: "Session ended",
};

/** How many activity entries show before "show older". */
const ACTIVITY_SHOWN = 6;

/** A session id as shown: its first random characters (the first TAG_LENGTH are the user's hash tag, the same for every session of a user). */
const short = (id: string) => `${id.slice(TAG_LENGTH, TAG_LENGTH + 8)}…`;

function ActivityLine({ entry, mine }: { entry: ActivityEntry; mine: boolean }) {
  return (
    <li className="break-words">
      <Time ms={entry.at} precise={entry.kind === "ended"} /> · {activityText[entry.kind] ?? entry.kind}
      {entry.reason ? `: ${reasonShort[entry.reason] ?? entry.reason.replaceAll("_", " ")}` : ""}
      {entry.mechanism ? `, via ${mechanismShort[entry.mechanism]}` : ""}
      {entry.sentAt !== undefined ? ` (sent ${new Date(entry.sentAt).toISOString().slice(11, 19)} UTC)` : ""} · {entry.device ?? "session"}{" "}
      <span className="font-mono text-slate-600">{short(entry.session)}</span>
      {mine && <span className="ml-1 text-slate-600">(this device)</span>}
    </li>
  );
}

/** The confirmation that "Sign out this device" worked: a sealed cookie a few seconds long, set by POST /api/sessions/end. */
async function readNotice(secret: string, name: string): Promise<string | undefined> {
  const sealed = (await cookies()).get(name)?.value;
  if (!sealed) return undefined;
  const payload = await unseal(sealed, secret, name).catch(() => undefined);
  return typeof payload?.text === "string" ? payload.text.slice(0, 200) : undefined;
}

/** Ended and expired sessions leave the list: find() returns live records only, and one past its expiry is dropped here. */
function liveSessions(sessions: StoredSession[], seen: (number | null)[]) {
  const now = Date.now();
  return sessions.map((s, i) => ({ ...s, lastSeen: seen[i] ?? s.record.createdAt })).filter((s) => s.record.expiresAt > now);
}

type ReportFigure = { figure: string; value: string };

/** The report's figures, if the answer has the shape the demo's `reports` API gives (demo/api/data.ts). */
function reportOf(json: unknown): { period: string; items: ReportFigure[] } | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const { period, items } = json as { period?: unknown; items?: unknown };
  if (typeof period !== "string" || !Array.isArray(items)) return undefined;
  const figures = items.filter(
    (i): i is ReportFigure => typeof i === "object" && i !== null && typeof i.figure === "string" && typeof i.value === "string",
  );
  return { period, items: figures.slice(0, 20) };
}

/**
 * The demo's `reports` API (a `client` API in apis.ts), called from this server component with
 * fetchApi: the app's own token (the client credentials grant) goes to the upstream, only the figures
 * reach the page. A failure says so and the rest of the page stands.
 */
async function ReportCard() {
  let report: { period: string; items: ReportFigure[] } | undefined;
  let failure = "";
  try {
    const res = await fetchApi("reports", "summary");
    if (res.ok) report = reportOf(await res.json());
    else await res.body?.cancel();
    failure = res.ok ? " (unexpected answer)" : ` (${res.status})`;
  } catch {
    report = undefined;
  }
  return (
    <div data-testid="server-report">
      <Card title="Bank-wide report">
        <p className="mb-2 text-xs text-slate-600">Fetched on the server with the app&rsquo;s own token; your browser never sees it.</p>
        {report ? (
          <>
            <p className="mb-2 text-sm text-slate-600">Period {report.period}</p>
            <Details rows={report.items.map((i): [string, React.ReactNode] => [i.figure, i.value])} />
          </>
        ) : (
          <p className="text-sm text-slate-600">The bank-wide report is unavailable just now{failure}.</p>
        )}
      </Card>
    </div>
  );
}

export default async function Account() {
  const server = getServer();
  const { APP_NAME, APP_ID, OIDC_CLIENT_ID, SESSION_CHECK_INTERVAL_MS, SESSION_MANAGEMENT, AUTH_SECRET, OIDC_END_SESSION_ID_TOKEN_HINT } =
    server.config;
  // The session watcher sends these forms itself when the IdP step is a plain redirect; an ID token
  // hint goes in a page the browser posts, never to a script.
  const signOutBy = OIDC_END_SESSION_ID_TOKEN_HINT === "omit" ? "json" : undefined;
  const current = await currentSessionFromCookies();
  if (current.state === "unavailable") return <SessionUnavailable appName={APP_NAME} />;
  if (current.state === "none") redirect("/");
  if (current.state === "ended") redirect("/signed-out");
  const { id, record } = current;
  const user = { iss: record.iss, sub: record.sub };
  let loaded;
  try {
    loaded = await Promise.all([
      server.sessions.find(user),
      server.sessions.activity(user),
      getIdpMetadata().catch(() => undefined),
      readNotice(AUTH_SECRET, server.cookies.notice),
    ]);
  } catch (error) {
    // Redis went away after the session was checked: say so, as when it was away before.
    if (error instanceof StoreError) return <SessionUnavailable appName={APP_NAME} />;
    throw error;
  }
  const [sessions, activity, metadata, notice] = loaded;
  const seen = await server.sessions.lastSeen(sessions.map((s) => s.id)).catch(() => sessions.map(() => null));
  // SM §3.3: only when the IdP advertises a check_session_iframe and gave this session a session_state
  // (and SESSION_MANAGEMENT is not off).
  const checkSessionIframe =
    SESSION_MANAGEMENT === "auto" && typeof metadata?.check_session_iframe === "string" ? metadata.check_session_iframe : undefined;
  const live = liveSessions(sessions, seen);
  // What tells this app that the IdP ended this session, from the IdP's metadata and the settings.
  const keptInStep = metadata
    ? statusLine(coverage(metadata as IdpLogoutMetadata, server.config))
    : "Your identity provider's metadata could not be read just now.";
  // The remote APIs on in this deployment that have a dashboard entry: only their names, titles and paths reach the browser.
  const onApis = resolveApis(apis, server.config.REMOTE_API_URLS);
  const dashboardApis: DashboardApi[] = [...onApis.values()].flatMap((api) =>
    api.dashboard ? [{ name: api.name, title: api.dashboard.title, path: api.dashboard.path }] : [],
  );
  const recent = activity.slice(0, ACTIVITY_SHOWN);
  const older = activity.slice(ACTIVITY_SHOWN);

  const details: [string, React.ReactNode][] = [
    ["Name", record.claims.name ?? "—"],
    ["Email", record.claims.email ?? "—"],
    ["Subject", record.sub],
    ["Device", deviceLabel(record.device)],
    ["Session", short(id)],
    ["Started", <Time key="c" ms={record.createdAt} />],
    ["Expires", <Time key="e" ms={record.expiresAt} />],
    ["Identity provider", record.iss],
    [
      "Kept in step",
      <span key="kept" data-testid="kept-in-step">
        {keptInStep}
      </span>,
    ],
    [
      "IdP session (sid)",
      <span key="sid">
        <span className="font-mono">{record.sid ?? "—"}</span>
        <span className="mt-1 block text-xs text-slate-600">
          Your identity provider names one single sign-on session with a different id for each app, so another app you reached by single
          sign-on shows another value for the same sign-in.
        </span>
      </span>,
    ],
  ];

  return (
    <LiveSession appName={APP_NAME}>
      {checkSessionIframe && record.sessionState && (
        <SessionIframe
          checkSessionIframe={checkSessionIframe}
          clientId={OIDC_CLIENT_ID}
          sessionState={record.sessionState}
          sessionId={id}
          intervalMs={SESSION_CHECK_INTERVAL_MS}
        />
      )}
      <Header appName={APP_NAME}>
        <span className="flex flex-wrap items-center gap-2">
          <SessionWatcher appId={APP_ID} appName={APP_NAME} sessionId={id} />
          <span className="rounded-full bg-green-100 px-3 py-1 text-xs font-semibold text-green-800" data-testid="signed-in">
            Signed in as {record.claims.name ?? record.sub}
          </span>
        </span>
      </Header>

      <h1 className="sr-only">Your account at {APP_NAME}</h1>
      {notice && (
        <p role="status" className="rounded-lg border border-green-300 bg-green-50 px-4 py-3 text-sm text-green-900" data-testid="notice">
          {notice}
        </p>
      )}
      <Card title="This session">
        <Details rows={details} />
      </Card>

      {dashboardApis.map((api) => (
        <ApiCard key={api.name} {...api} />
      ))}

      {onApis.has("reports") && <ReportCard />}

      <Card title={`Your sessions at ${APP_NAME}`}>
        <ul className="divide-y divide-slate-100 text-sm" aria-label="Active sessions">
          {live.map((s) => {
            const label = deviceLabel(s.record.device);
            return (
              <li key={s.id} className="flex flex-wrap items-center justify-between gap-3 py-3" data-testid="session-row">
                <span className="min-w-0">
                  <span className="font-semibold" data-testid="device">
                    {label}
                  </span>{" "}
                  <span className="font-mono text-xs text-slate-600" data-testid="session-short-id">
                    {short(s.id)}
                  </span>
                  {s.id === id && (
                    <span className="ml-2 rounded bg-slate-100 px-2 py-0.5 text-xs font-semibold" data-testid="this-device">
                      this device
                    </span>
                  )}
                  <span className="block text-slate-600">
                    started <Time ms={s.record.createdAt} /> · last seen {s.id === id ? "now" : <Time ms={s.lastSeen} />}
                  </span>
                </span>
                {s.id !== id && (
                  <form method="post" action="/api/sessions/end">
                    <input type="hidden" name="id" value={s.id} />
                    <button
                      type="submit"
                      className={secondaryButtonClass}
                      aria-label={`Sign out this device: ${label}, started ${new Date(s.record.createdAt).toISOString().slice(0, 16).replace("T", " ")} UTC`}
                    >
                      Sign out this device
                    </button>
                  </form>
                )}
              </li>
            );
          })}
        </ul>
      </Card>

      <Card title="Activity">
        {activity.length === 0 ? (
          <p className="text-sm text-slate-600">Nothing yet.</p>
        ) : (
          <>
            <ol className="space-y-1 text-sm" aria-label="Recent activity">
              {recent.map((entry, i) => (
                <ActivityLine key={`${entry.at}-${i}`} entry={entry} mine={entry.session === id} />
              ))}
            </ol>
            {older.length > 0 && (
              <details className="mt-2 text-sm">
                <summary className="cursor-pointer text-slate-700">Show {older.length} older</summary>
                <ol className="mt-1 space-y-1" aria-label="Older activity">
                  {older.map((entry, i) => (
                    <ActivityLine key={`${entry.at}-o${i}`} entry={entry} mine={entry.session === id} />
                  ))}
                </ol>
              </details>
            )}
          </>
        )}
      </Card>

      <div className="flex flex-col gap-3">
        <div className="flex flex-wrap gap-3">
          <form method="post" action="/api/logout" data-signout="this" data-fetch={signOutBy}>
            <button type="submit" className={buttonClass}>
              Sign out
            </button>
          </form>
          <form method="post" action="/api/logout" data-signout="this" data-fetch={signOutBy}>
            <input type="hidden" name="scope" value="everywhere" />
            <button type="submit" className={secondaryButtonClass} aria-describedby="everywhere-hint">
              Sign out every device at {APP_NAME}
            </button>
          </form>
        </div>
        <p id="everywhere-hint" className="text-sm text-slate-600">
          &ldquo;Sign out&rdquo; ends this session and takes you to your identity provider. &ldquo;Sign out every device&rdquo; also ends
          your sessions at {APP_NAME} in every other browser and device. Neither signs you out of other apps that use your identity
          provider: your identity provider asks you about that.
        </p>
      </div>
    </LiveSession>
  );
}
