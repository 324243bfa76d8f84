"use client";

import { useAppName } from "./_components/app-name";
import { Header } from "./_components/ui";
import { ErrorCard } from "./_components/error-card";

/** A page failed to render. */
export default function ErrorPage({ error, retry }: { error: unknown; retry: () => void }) {
  return (
    <>
      <Header appName={useAppName()} />
      <ErrorCard error={error} retry={retry} what="This page" />
    </>
  );
}
