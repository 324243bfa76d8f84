import { redirect } from "next/navigation";
import { getConfig } from "@/lib/config";
import { currentSessionFromCookies } from "@/lib/session/server-component";
import { publicView } from "@/lib/session/record";
import { buttonClass, Card, Header } from "../components";

export const dynamic = "force-dynamic";

export default async function Account() {
  const { APP_NAME } = getConfig();
  const current = await currentSessionFromCookies();
  if (current.state === "none") redirect("/");
  if (current.state === "ended") redirect(`/signed-out?reason=${current.reason}`);
  const view = publicView(current.id, current.record);
  const rows: [string, string][] = [
    ["Name", view.user.name ?? "—"],
    ["Email", view.user.email ?? "—"],
    ["Subject", view.user.sub],
    ["Session started", view.session.createdAt],
    ["Session expires", view.session.expiresAt],
    ["Identity provider", view.session.idp.iss],
    ["IdP session", view.session.idp.sid ?? "—"],
  ];
  return (
    <>
      <Header appName={APP_NAME} />
      <Card title="You are signed in">
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-2 text-sm">
          {rows.map(([label, value]) => (
            <div key={label} className="contents">
              <dt className="font-medium text-slate-600">{label}</dt>
              <dd className="break-all font-mono text-slate-900" data-field={label}>
                {value}
              </dd>
            </div>
          ))}
        </dl>
      </Card>
      <form method="post" action="/api/logout">
        <button type="submit" className={buttonClass}>
          Sign out
        </button>
      </form>
    </>
  );
}
