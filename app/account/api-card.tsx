"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { Card, secondaryButtonClass } from "../_components/ui";
import { useEndSession } from "./live-session";

/** What the signed-in page tells this card about one declared API (apis.ts `dashboard`): no URL, no token. */
export type DashboardApi = { name: string; title: string; path: string };

type Item = Record<string, unknown> | string | number | boolean | null;
type State = { kind: "loading" } | { kind: "ready"; items: Item[] } | { kind: "error"; text: string };

/** How long the card waits for the proxy (which has its own upstream timeouts) before saying it failed. */
const TIMEOUT_MS = 15_000;
/** The most items listed; the card says how many more there were. */
const MAX_ITEMS = 20;

/**
 * The list a JSON answer holds: the answer itself if it is an array, else its `items` (or its first
 * array-valued member), else the answer as the one item.
 */
function itemsOf(json: unknown): Item[] {
  if (Array.isArray(json)) return json as Item[];
  if (typeof json === "object" && json !== null) {
    const record = json as Record<string, unknown>;
    const list = Array.isArray(record.items) ? record.items : Object.values(record).find(Array.isArray);
    return (list as Item[] | undefined) ?? [record];
  }
  return [json as Item];
}

/** "closing_balance" → "Closing balance", "openingBalance" → "Opening balance". */
function label(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function text(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The guard's and the proxy's own 401 (`{"error":"unauthorized","reason"}`): this session ended. An upstream's 401 is about its token, not the session. */
function isSessionRefusal(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as { error?: unknown }).error === "unauthorized" && "reason" in body;
}

/** A short, safe description of a refusal's `error` code, if the answer had one. */
function errorCode(body: unknown): string | undefined {
  const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  return typeof error === "string" && /^[a-z0-9_.-]{1,64}$/i.test(error) ? error : undefined;
}

/**
 * GETs the API through the proxy and says what to show: its items, an error, "ended" when Lockstep
 * itself answered 401 (the session is over), or nothing when a newer request or the unmount aborted it.
 */
async function request(name: string, path: string, title: string, controller: AbortController): Promise<State | "ended" | undefined> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, TIMEOUT_MS);
  try {
    const response = await fetch(`/api/remote/${encodeURIComponent(name)}/${path.replace(/^\/+/, "")}`, {
      headers: { "X-CSRF": "1", Accept: "application/json" },
      cache: "no-store",
      signal: controller.signal,
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (controller.signal.aborted) throw new Error("aborted");
    if (response.status === 401 && isSessionRefusal(body)) return "ended";
    if (!response.ok) {
      const code = errorCode(body);
      const detail = `HTTP ${response.status}${code ? `, ${code}` : ""}`;
      return {
        kind: "error",
        text:
          response.status === 401 || response.status === 403
            ? `${title} refused this request (${detail}).`
            : `${title} could not be loaded (${detail}).`,
      };
    }
    if (body === undefined) return { kind: "error", text: `${title} did not answer with JSON.` };
    return { kind: "ready", items: itemsOf(body) };
  } catch {
    if (controller.signal.aborted && !timedOut) return undefined;
    return { kind: "error", text: timedOut ? `${title} did not answer in time.` : `${title} could not be reached.` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One remote API on the signed-in page: GETs `/api/remote/<name>/<path>` through Lockstep's proxy (with
 * the anti-forgery header `X-CSRF: 1`) and lists the items of its JSON answer, each item's fields as
 * label and value. The proxy attaches the token on the server; this card never sees one. A 401 from
 * Lockstep itself means the session ended: the tab shows it signed out, as the session watcher does.
 */
export function ApiCard({ name, title, path }: DashboardApi) {
  const [state, setState] = useState<State>({ kind: "loading" });
  const end = useEndSession();
  const current = useRef<AbortController | undefined>(undefined);

  const load = useCallback(() => {
    current.current?.abort();
    const controller = new AbortController();
    current.current = controller;
    void request(name, path, title, controller).then((next) => {
      if (next === "ended") end({ via: "check", receivedAt: Date.now() });
      else if (next) setState(next);
    });
  }, [name, path, title, end]);

  useEffect(() => {
    load();
    return () => current.current?.abort();
  }, [load]);

  const reload = () => {
    setState({ kind: "loading" });
    load();
  };

  const shown = state.kind === "ready" ? state.items.slice(0, MAX_ITEMS) : [];
  return (
    <Card title={title}>
      <div data-testid="api-card" data-api={name} data-state={state.kind} aria-busy={state.kind === "loading"}>
        {state.kind === "loading" && (
          <p role="status" className="text-sm text-slate-600">
            Loading {title.toLowerCase()}…
          </p>
        )}
        {state.kind === "error" && (
          <p role="alert" className="text-sm text-red-800" data-testid="api-error">
            {state.text}
          </p>
        )}
        {state.kind === "ready" &&
          (shown.length === 0 ? (
            <p className="text-sm text-slate-600">Nothing to show.</p>
          ) : (
            <ul className="divide-y divide-slate-100 text-sm" aria-label={title}>
              {shown.map((item, i) => (
                <li key={i} className="py-2" data-testid="api-item">
                  {typeof item === "object" && item !== null ? (
                    <dl className="grid grid-cols-1 gap-x-4 sm:grid-cols-[max-content_minmax(0,1fr)]">
                      {Object.entries(item).map(([key, value]) => (
                        <div key={key} className="contents">
                          <dt className="font-medium text-slate-600">{label(key)}</dt>
                          <dd className="mb-1 min-w-0 text-slate-900 [overflow-wrap:anywhere] sm:mb-0">{text(value)}</dd>
                        </div>
                      ))}
                    </dl>
                  ) : (
                    text(item)
                  )}
                </li>
              ))}
            </ul>
          ))}
        {state.kind === "ready" && state.items.length > MAX_ITEMS && (
          <p className="mt-1 text-sm text-slate-600">and {state.items.length - MAX_ITEMS} more.</p>
        )}
        {state.kind !== "loading" && (
          <button type="button" className={`${secondaryButtonClass} mt-3`} onClick={reload}>
            Reload {title.toLowerCase()}
          </button>
        )}
      </div>
    </Card>
  );
}
