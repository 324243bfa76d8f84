import { redirect } from "next/navigation";
import { getServer } from "@/lib/compose/node";
import { currentSessionFromCookies } from "@/lib/session/server-component";
import { buttonClass, Card, Details, Header, secondaryButtonClass, SessionUnavailable, Time } from "../components";
import { SessionWatcher } from "./session-watcher";
import { SessionIframe } from "./session-iframe";
import { getIdpMetadata } from "@/lib/oidc/client";

export const dynamic = "force-dynamic";

const activityText: Record<string, string> = {
  signed_in: "Signed in",
  token_refreshed: "Access token refreshed on the server",
  ended: "Session ended",
};

const short = (id: string) => `${id.slice(0, 8)}…`;

export default async function Account() {
  const server = getServer();
  const { APP_NAME, APP_ID, OIDC_CLIENT_ID, SESSION_CHECK_INTERVAL_MS } = server.config;
  const current = await currentSessionFromCookies();
  if (current.state === "unavailable") return <SessionUnavailable appName={APP_NAME} />;
  if (current.state === "none") redirect("/");
  if (current.state === "ended") redirect(`/signed-out?reason=${current.reason}`);
  const { id, record } = current;
  const user = { iss: record.iss, sub: record.sub };
  const [sessions, activity, metadata] = await Promise.all([
    server.sessions.find(user),
    server.sessions.activity(user),
    getIdpMetadata().catch(() => undefined),
  ]);
  // SM §3.3: only when the IdP advertises a check_session_iframe and gave this session a session_state.
  const checkSessionIframe = typeof metadata?.check_session_iframe === "string" ? metadata.check_session_iframe : undefined;

  const details: [string, React.ReactNode][] = [
    ["Name", record.claims.name ?? "—"],
    ["Email", record.claims.email ?? "—"],
    ["Subject", record.sub],
    ["Session", short(id)],
    ["Started", <Time key="c" ms={record.createdAt} />],
    ["Expires", <Time key="e" ms={record.expiresAt} />],
    ["Identity provider", record.iss],
    ["IdP session", record.sid ?? "—"],
  ];

  return (
    <>
      <SessionWatcher appId={APP_ID} sessionId={id} />
      {checkSessionIframe && record.sessionState && (
        <SessionIframe
          checkSessionIframe={checkSessionIframe}
          clientId={OIDC_CLIENT_ID}
          sessionState={record.sessionState}
          intervalMs={SESSION_CHECK_INTERVAL_MS}
        />
      )}
      <Header appName={APP_NAME}>
        <span className="rounded-full bg-green-100 px-3 py-1 text-xs font-semibold text-green-800" data-testid="signed-in">
          Signed in as {record.claims.name ?? record.sub}
        </span>
      </Header>

      <h1 className="sr-only">Your account at {APP_NAME}</h1>
      <Card title="This session">
        <Details rows={details} />
      </Card>

      <Card title={`Your sessions at ${APP_NAME}`}>
        <ul className="divide-y divide-slate-100 text-sm" aria-label="Active sessions">
          {sessions.map((s) => (
            <li key={s.id} className="flex items-center justify-between gap-3 py-2">
              <span>
                <span className="font-mono">{short(s.id)}</span> started <Time ms={s.record.createdAt} />
                {s.id === id && <span className="ml-2 rounded bg-slate-100 px-2 py-0.5 text-xs font-semibold">this device</span>}
              </span>
              {s.id !== id && (
                <form method="post" action="/api/sessions/end">
                  <input type="hidden" name="id" value={s.id} />
                  <button type="submit" className={secondaryButtonClass} aria-label={`Sign out session ${short(s.id)}`}>
                    Sign out this device
                  </button>
                </form>
              )}
            </li>
          ))}
        </ul>
      </Card>

      <Card title="Activity">
        {activity.length === 0 ? (
          <p className="text-sm text-slate-600">Nothing yet.</p>
        ) : (
          <ol className="space-y-1 text-sm" aria-label="Recent activity">
            {activity.map((entry, i) => (
              <li key={`${entry.at}-${i}`}>
                <Time ms={entry.at} /> · {activityText[entry.kind] ?? entry.kind}
                {entry.reason ? ` (${entry.reason.replaceAll("_", " ")})` : ""} · session <span className="font-mono">{short(entry.session)}</span>
              </li>
            ))}
          </ol>
        )}
      </Card>

      <div className="flex flex-wrap gap-3">
        <form method="post" action="/api/logout" data-signout="this">
          <button type="submit" className={buttonClass}>
            Sign out
          </button>
        </form>
        <form method="post" action="/api/logout" data-signout="this">
          <input type="hidden" name="scope" value="everywhere" />
          <button type="submit" className={secondaryButtonClass}>
            Sign out everywhere
          </button>
        </form>
      </div>
    </>
  );
}
