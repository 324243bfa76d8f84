"use client";

import { useAppName } from "./app-name";
import { Header } from "./components";
import { ErrorCard } from "./error-card";

/** A page failed to render. */
export default function ErrorPage({ error, retry }: { error: unknown; retry: () => void }) {
  return (
    <>
      <Header appName={useAppName()} />
      <ErrorCard error={error} retry={retry} what="This page" />
    </>
  );
}
