import type { MetadataRoute } from "next";
import { getConfig } from "@/lib/config";

// Read per request: one build serves several apps (APP_NAME, APP_ACCENT), as `npm run demo` does.
export const dynamic = "force-dynamic";

export default function manifest(): MetadataRoute.Manifest {
  const { APP_NAME, APP_ACCENT } = getConfig();
  return {
    id: "/",
    name: APP_NAME,
    short_name: APP_NAME,
    description: "Sign-out that means something: every request and tab in step with your identity provider.",
    start_url: "/",
    scope: "/",
    // Sign-in and sign-out leave for the identity provider; an ordinary browser tab handles that best.
    display: "browser",
    background_color: "#f8fafc",
    theme_color: APP_ACCENT,
    icons: [
      { src: "/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
      { src: "/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
      { src: "/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
      { src: "/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
    ],
  };
}
