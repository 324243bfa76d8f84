import type { Metadata } from "next";
import type { CSSProperties, ReactNode } from "react";
import { getConfig } from "@/lib/config";
import { AppNameProvider } from "./_components/app-name";
import "./globals.css";

/** Each page names its state first ("Signed in · Lockstep Bank", "Signed out · Lockstep Bank"); live tabs update it. */
export async function generateMetadata(): Promise<Metadata> {
  const { APP_NAME } = getConfig();
  return { ...metadata, title: { default: APP_NAME, template: `%s · ${APP_NAME}` } };
}

const metadata: Metadata = {
  description: "Sign-out that means something: every request and tab in step with your identity provider.",
  // Files in public/, all rendered from public/icon.svg; the manifest is app/manifest.ts. The ICO says
  // 32x32 (it holds 16, 32 and 48) so that browsers which can take the SVG prefer it.
  icons: {
    icon: [
      { url: "/favicon.ico", sizes: "32x32" },
      { url: "/icon.svg", type: "image/svg+xml" },
    ],
    apple: [{ url: "/apple-touch-icon.png", sizes: "180x180", type: "image/png" }],
  },
  manifest: "/manifest.webmanifest",
};

export const dynamic = "force-dynamic";

export default function RootLayout({ children }: { children: ReactNode }) {
  const { APP_ACCENT, APP_NAME } = getConfig();
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased" style={{ "--accent": APP_ACCENT } as CSSProperties}>
        <main className="mx-auto flex min-h-screen max-w-2xl flex-col gap-6 px-3 py-6 sm:px-4 sm:py-12">
          <AppNameProvider name={APP_NAME}>{children}</AppNameProvider>
        </main>
      </body>
    </html>
  );
}
