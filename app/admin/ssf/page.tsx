import { notFound, redirect } from "next/navigation";
import { getServer } from "@/lib/compose/server";
import { currentSessionFromCookies } from "@/lib/session/server-component";
import { ssfSettings, streamManager } from "@/lib/ssf/receiver";
import { isAdmin } from "@/lib/ssf/admin";
import { shortName } from "@/lib/ssf/policy";
import { buttonClass, Card, Details, Header, secondaryButtonClass, SessionUnavailable, Time } from "../../_components/ui";

export const dynamic = "force-dynamic";

/** /admin/ssf: this app's Shared Signals stream, for the subjects listed in ADMIN_SUBS. */
export default async function SsfAdmin({ searchParams }: { searchParams: Promise<{ done?: string; failed?: string }> }) {
  const server = getServer();
  const { APP_NAME, SSF_DELIVERY } = server.config;
  const current = await currentSessionFromCookies();
  if (current.state === "unavailable") return <SessionUnavailable appName={APP_NAME} />;
  if (current.state !== "active") redirect("/");
  const settings = ssfSettings(server.config);
  if (!settings || !isAdmin(server.config, current)) notFound();
  const { done, failed } = await searchParams;
  const stored = await streamManager(server).stored();

  const rows: [string, React.ReactNode][] = stored
    ? [
        [
          "Stream",
          <span key="id" className="font-mono">
            {stored.config.stream_id}
          </span>,
        ],
        ["Audience", String(stored.config.aud)],
        ["Delivery", stored.config.delivery.method],
        ["Status (last known)", stored.status ?? "—"],
        ["Verified", stored.verifiedAt ? <Time key="v" ms={stored.verifiedAt} /> : "not yet"],
        ["Events delivered", (stored.config.events_delivered ?? []).map(shortName).join(", ") || "—"],
      ]
    : [];

  return (
    <>
      <Header appName={APP_NAME} />
      <h1 className="text-2xl font-bold">Shared Signals</h1>
      {done && (
        <p role="status" className="rounded bg-green-50 p-3 text-sm text-green-900">
          Done: {done}.
        </p>
      )}
      {failed && (
        <p role="alert" className="rounded bg-red-50 p-3 text-sm text-red-900">
          Failed: {failed}. The security log has the details.
        </p>
      )}
      <Card title="Transmitter">
        <p className="text-sm">
          Issuer <span className="font-mono">{settings.issuer}</span>, delivery <strong>{SSF_DELIVERY}</strong>.
        </p>
      </Card>
      <Card title="This app's stream">
        {stored ? <Details rows={rows} /> : <p className="text-sm text-slate-600">No stream yet: register one.</p>}
      </Card>
      <form method="post" action="/api/admin/ssf" className="flex flex-wrap gap-2">
        <button type="submit" name="action" value="register" className={buttonClass}>
          Register stream
        </button>
        {(["verify", "status", "enable", "pause", "disable"] as const).map((action) => (
          <button key={action} type="submit" name="action" value={action} className={secondaryButtonClass} disabled={!stored}>
            {action === "status" ? "Read status" : action[0]!.toUpperCase() + action.slice(1)}
          </button>
        ))}
      </form>
    </>
  );
}
