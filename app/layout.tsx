import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "Lockstep",
  description: "Sign-out that means something: every request and tab in step with your identity provider.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased">
        <main className="mx-auto flex min-h-screen max-w-2xl flex-col gap-6 px-4 py-12">{children}</main>
      </body>
    </html>
  );
}
