import { signIn } from "@/auth";
import { getConfig } from "@/lib/config";
import { getSession } from "@/lib/lockstep";
import { buttonClass, Card, Header } from "./_components/ui";

export const dynamic = "force-dynamic";

export default async function Home() {
  const { APP_NAME } = getConfig();
  const current = await getSession();
  return (
    <>
      <Header appName={APP_NAME} />
      <h1 className="sr-only">{APP_NAME}: sign in</h1>
      <Card title="Welcome">
        <p className="mb-4 text-slate-700">
          Sign in with your identity provider. When it ends your session, this app stops honouring it on the very next request.
        </p>
        {current.state === "active" ? (
          <a className={buttonClass} href="/account">
            Continue as {current.record.claims.name ?? current.record.sub}
          </a>
        ) : (
          <form
            action={async () => {
              "use server";
              await signIn("oidc", { redirectTo: "/account" });
            }}
          >
            <button type="submit" className={buttonClass}>
              Sign in
            </button>
          </form>
        )}
      </Card>
    </>
  );
}
