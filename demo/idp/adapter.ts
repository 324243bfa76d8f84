import type { Adapter, AdapterConstructor, AdapterPayload } from "oidc-provider";

/** A live IdP session as the store holds it. */
export type StoredSession = { id: string; payload: AdapterPayload };

type Entry = { payload: AdapterPayload; expiresAt: number };

/** Models whose records belong to a grant and go when it is revoked (as in oidc-provider's memory adapter). */
const GRANTABLE = new Set([
  "AccessToken",
  "AuthorizationCode",
  "RefreshToken",
  "DeviceCode",
  "BackchannelAuthenticationRequest",
  "PreAuthorizedCode",
]);
const SWEEP_EVERY_WRITES = 256;

const keyFor = (model: string, id: string) => `${model}:${id}`;

/**
 * The demo IdP's storage: oidc-provider's in-memory adapter rebuilt on a Map, one store per IdP, so the
 * admin page can list a user's sessions (the built-in adapter keeps its records private). Like the
 * built-in one it loses everything on restart and is for the demo only.
 */
export class DemoStore {
  readonly #entries = new Map<string, Entry>();
  /** Session uid -> session id (tokens bound to a session find it by uid). */
  readonly #sessionUids = new Map<string, string>();
  readonly #userCodes = new Map<string, string>();
  /** Grant id -> keys of the records issued under it. */
  readonly #grantMembers = new Map<string, Set<string>>();
  #writes = 0;

  /** The class oidc-provider instantiates once per model (its `adapter` option). */
  readonly Adapter: AdapterConstructor = adapterClass(this);

  get(model: string, id: string): AdapterPayload | undefined {
    const key = keyFor(model, id);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#delete(key);
      return undefined;
    }
    return entry.payload;
  }

  set(model: string, id: string, payload: AdapterPayload, expiresIn?: number): void {
    const key = keyFor(model, id);
    this.#delete(key);
    const expiresAt = typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Infinity;
    this.#entries.set(key, { payload, expiresAt });
    if (model === "Session" && payload.uid) this.#sessionUids.set(payload.uid, id);
    if (payload.userCode) this.#userCodes.set(payload.userCode, id);
    if (GRANTABLE.has(model) && payload.grantId) {
      const members = this.#grantMembers.get(payload.grantId) ?? new Set<string>();
      members.add(key);
      this.#grantMembers.set(payload.grantId, members);
    }
    if (++this.#writes % SWEEP_EVERY_WRITES === 0) this.#sweep();
  }

  delete(model: string, id: string): void {
    this.#delete(keyFor(model, id));
  }

  idForSessionUid(uid: string): string | undefined {
    return this.#sessionUids.get(uid);
  }

  idForUserCode(userCode: string): string | undefined {
    return this.#userCodes.get(userCode);
  }

  /** Deletes the records of `model` (or of every grantable model) issued under a grant. */
  deleteGrantMembers(grantId: string, model?: string): void {
    for (const key of [...(this.#grantMembers.get(grantId) ?? [])]) {
      if (model === undefined || key.startsWith(`${model}:`)) this.#delete(key);
    }
  }

  /** Every unexpired session that belongs to `accountId`. */
  sessionsOf(accountId: string): StoredSession[] {
    const now = Date.now();
    const prefix = "Session:";
    const sessions: StoredSession[] = [];
    for (const [key, entry] of this.#entries) {
      if (key.startsWith(prefix) && entry.expiresAt > now && entry.payload.accountId === accountId) {
        sessions.push({ id: key.slice(prefix.length), payload: entry.payload });
      }
    }
    return sessions;
  }

  /** Revokes a grant with everything issued under it: codes, access and refresh tokens. */
  revokeGrant(grantId: string): void {
    this.deleteGrantMembers(grantId);
    this.delete("Grant", grantId);
  }

  /** Removes a record and the indexes that point at it. */
  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const id = key.slice(key.indexOf(":") + 1);
    const { uid, userCode, grantId } = entry.payload;
    if (uid && this.#sessionUids.get(uid) === id) this.#sessionUids.delete(uid);
    if (userCode && this.#userCodes.get(userCode) === id) this.#userCodes.delete(userCode);
    if (grantId) {
      const members = this.#grantMembers.get(grantId);
      members?.delete(key);
      if (members?.size === 0) this.#grantMembers.delete(grantId);
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#delete(key);
  }
}

function adapterClass(store: DemoStore): AdapterConstructor {
  return class DemoAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      store.set(this.model, id, payload, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return store.get(this.model, id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = store.idForSessionUid(uid);
      return id === undefined ? undefined : store.get(this.model, id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = store.idForUserCode(userCode);
      return id === undefined ? undefined : store.get(this.model, id);
    }

    async consume(id: string): Promise<void> {
      const payload = store.get(this.model, id);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      store.delete(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      store.deleteGrantMembers(grantId, this.model);
    }
  };
}
