import type { Metadata } from "next";
import type { CSSProperties, ReactNode } from "react";
import { getConfig } from "@/lib/config";
import "./globals.css";

export const metadata: Metadata = {
  description: "Sign-out that means something: every request and tab in step with your identity provider.",
};

export const dynamic = "force-dynamic";

export default function RootLayout({ children }: { children: ReactNode }) {
  const { APP_ACCENT, APP_NAME } = getConfig();
  return (
    <html lang="en">
      <head>
        <title>{APP_NAME}</title>
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased" style={{ "--accent": APP_ACCENT } as CSSProperties}>
        <main className="mx-auto flex min-h-screen max-w-2xl flex-col gap-6 px-4 py-12">{children}</main>
      </body>
    </html>
  );
}
