// Forwarding module, to delete: the stack runner lives in the demo workspace (demo/scripts/stack.ts).
// tests/integration/*.test.ts and tests/e2e/*.test.ts still import it from here until they are repointed.
export * from "../demo/scripts/stack";
