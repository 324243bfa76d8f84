// Forwarding module, to delete: the demo IdP lives in the demo workspace (demo/idp/).
// tests/integration/ssf.test.ts still imports its users from here until it is repointed.
export * from "../demo/idp/users";
