import { secondaryButtonClass } from "../_components/ui";

/**
 * "Sign out at your identity provider too": posts `scope=idp` to /api/logout, which sends the
 * browser to the IdP's end_session_endpoint (RP-Initiated Logout 1.0 §2) with nothing left to end here.
 */
export function IdpSignOutForm() {
  return (
    <form method="post" action="/api/logout">
      <input type="hidden" name="scope" value="idp" />
      <button type="submit" className={secondaryButtonClass}>
        Sign out at your identity provider too
      </button>
    </form>
  );
}
