import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { requireSession } from "@/lib/session/current";
import { isSameOriginRequest } from "@/lib/http/same-origin";
import { redirectTo } from "@/lib/http/responses";
import { registerStream, ssfSettings, streamManager } from "@/lib/ssf/receiver";
import { adminActions, isAdmin, type AdminAction } from "@/lib/ssf/admin";
import { hashId, securityLog } from "@/lib/log/security-log";

export const dynamic = "force-dynamic";

/** POST /api/admin/ssf (form field `action`): the admin page's stream management. Same-origin, admins only. */
export const POST = route(async function POST(request: Request): Promise<Response> {
  const server = getServer();
  const { config } = server;
  if (!isSameOriginRequest(request, config.AUTH_URL)) return Response.json({ error: "forbidden" }, { status: 403 });
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return gate.response;
  if (!isAdmin(config, gate.session) || !ssfSettings(config)) return Response.json({ error: "not_found" }, { status: 404 });
  const action = (await request.formData().catch(() => undefined))?.get("action");
  if (typeof action !== "string" || !(adminActions as readonly string[]).includes(action)) {
    return Response.json({ error: "invalid_request", error_description: "Unknown action." }, { status: 400 });
  }
  const back = new URL("/admin/ssf", config.AUTH_URL);
  try {
    const manager = streamManager(server);
    switch (action as AdminAction) {
      case "register":
        await registerStream(server);
        break;
      case "verify":
        await manager.verify();
        break;
      case "status":
        await manager.status();
        break;
      case "enable":
        await manager.setStatus("enabled");
        break;
      case "pause":
        await manager.setStatus("paused");
        break;
      case "disable":
        await manager.setStatus("disabled");
        break;
    }
    back.searchParams.set("done", action);
    securityLog({ event: "ssf.admin", outcome: "ok", code: action, by: hashId(gate.session.record.sub) });
  } catch (error) {
    back.searchParams.set("failed", action);
    securityLog({
      event: "ssf.admin",
      outcome: "error",
      code: action,
      by: hashId(gate.session.record.sub),
      detail: (error as Error).message.slice(0, 200),
    });
  }
  return redirectTo(back);
});
