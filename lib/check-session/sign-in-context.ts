import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Carries the authentication response's `session_state` (SM §2) from the sign-in callback's URL to
 * Auth.js's jwt callback, which sees the token response but not the query it came with.
 */
export const signInContext = new AsyncLocalStorage<{ sessionState?: string }>();
