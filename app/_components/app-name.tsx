"use client";

import { createContext, useContext, type ReactNode } from "react";

/**
 * The app's display name (APP_NAME) for client components that cannot read the server's settings,
 * such as app/error.tsx. The root layout provides it.
 */
const AppNameContext = createContext("Lockstep");

export function AppNameProvider({ name, children }: { name: string; children: ReactNode }) {
  return <AppNameContext value={name}>{children}</AppNameContext>;
}

export function useAppName(): string {
  return useContext(AppNameContext);
}
