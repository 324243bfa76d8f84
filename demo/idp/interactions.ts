import type { IncomingMessage, ServerResponse } from "node:http";
import { errors, type Interaction, type Provider } from "oidc-provider";
import { BadRequest, readForm, sendFailure, sendHtml } from "./http";
import { errorPage, loginPage } from "./pages";
import type { BrowserState } from "./session-management";
import { demoUsers, verifyCredentials } from "./users";

/** A request for one of the IdP's own interaction pages (oidc-provider's devInteractions are off). */
export type InteractionRoute = { uid: string; action: "show" | "login" };

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login)?$/;

/** Matches `GET /interaction/:uid` and `POST /interaction/:uid/login`; everything else is oidc-provider's. */
export function matchInteractionRoute(method: string | undefined, url: string | undefined): InteractionRoute | undefined {
  const match = INTERACTION_PATH.exec(URL.parse(url ?? "/", "http://idp.invalid")?.pathname ?? "");
  const uid = match?.[1];
  if (!uid) return undefined;
  if (!match[2] && method === "GET") return { uid, action: "show" };
  if (match[2] && method === "POST") return { uid, action: "login" };
  return undefined;
}

/** What oidc-provider's consent prompt puts in its details (@types/oidc-provider leaves prompt details open). */
type ConsentDetails = { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };

async function clientName(provider: Provider, interaction: Interaction): Promise<string | undefined> {
  const clientId = interaction.params.client_id;
  if (typeof clientId !== "string") return undefined;
  return (await provider.Client.find(clientId))?.clientName ?? clientId;
}

/**
 * Consent is implied for the demo's first-party apps: grant exactly what the prompt says is missing
 * (on the app's existing grant, if any) and finish without showing a page.
 */
async function grantConsent(provider: Provider, req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
  const accountId = interaction.session?.accountId;
  const clientId = interaction.params.client_id;
  if (!accountId || typeof clientId !== "string") throw new BadRequest("consent prompt without a signed-in user");

  const grant = (interaction.grantId && (await provider.Grant.find(interaction.grantId))) || new provider.Grant({ accountId, clientId });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = interaction.prompt.details as ConsentDetails;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(" "));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(" "));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } });
}

async function show(provider: Provider, req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
  switch (interaction.prompt.name) {
    case "login":
      sendHtml(
        res,
        200,
        loginPage({
          action: `/interaction/${interaction.uid}/login`,
          clientName: await clientName(provider, interaction),
          users: demoUsers,
        }),
      );
      return;
    case "consent":
      await grantConsent(provider, req, res, interaction);
      return;
    default:
      throw new BadRequest(`unsupported prompt: ${interaction.prompt.name}`);
  }
}

export type InteractionDeps = {
  /** Renewed whenever a sign-in succeeds (Session Management's browser state). */
  browserState: BrowserState;
  log: (line: string) => void;
};

async function login(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  interaction: Interaction,
  { browserState }: InteractionDeps,
): Promise<void> {
  if (interaction.prompt.name !== "login") throw new BadRequest("this sign-in step does not take a password");
  const form = await readForm(req);
  const username = form.get("username") ?? "";
  const user = verifyCredentials(username, form.get("password") ?? "");
  if (!user) {
    const page = loginPage({
      action: `/interaction/${interaction.uid}/login`,
      clientName: await clientName(provider, interaction),
      username,
      error: "Wrong username or password.",
      users: demoUsers,
    });
    sendHtml(res, 401, page);
    return;
  }
  // interactionFinished() with the new browser state added: the resume request that follows carries it,
  // and the session_state sent to the app is computed from it.
  const returnTo = await provider.interactionResult(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  res.appendHeader("Set-Cookie", browserState.renew().setCookie);
  res.writeHead(303, { location: returnTo, "content-length": "0" }).end();
}

/**
 * Serves the IdP's interaction pages. oidc-provider finds the interaction through its cookie (scoped to
 * /interaction/<uid>), so a uid in the URL that disagrees with the cookie is refused.
 */
export async function handleInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  route: InteractionRoute,
  deps: InteractionDeps,
): Promise<void> {
  const { log } = deps;
  try {
    const interaction = await provider.interactionDetails(req, res);
    if (interaction.uid !== route.uid) throw new BadRequest("This sign-in page does not belong to your current sign-in request.");
    if (route.action === "show") await show(provider, req, res, interaction);
    else await login(provider, req, res, interaction, deps);
  } catch (error) {
    if (!res.headersSent && error instanceof errors.SessionNotFound) {
      sendHtml(res, 400, errorPage(error.error, "This sign-in request has expired or was already used."));
      return;
    }
    if (!res.headersSent && error instanceof errors.OIDCProviderError) {
      sendHtml(res, error.status, errorPage(error.error, error.error_description));
      return;
    }
    sendFailure(res, error, log, "The identity provider could not complete this step");
  }
}
