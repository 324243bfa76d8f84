import { describe, expect, it } from "vitest";
import { idpAnswerText, readIdpAnswer, recallIdpSession, rememberIdpSession } from "@/app/signed-out/idp-answer-state";
import { messageFor } from "@/app/signed-out/messages";
import type { EndedNote } from "@/lib/session/ended";

/**
 * The signed-out page asks the IdP's check_session_iframe only after an RP-initiated logout that came
 * back with our state, only with a session_state the IdP answered "unchanged" to for this very session
 * in this tab, and says plainly what it answered (tests/e2e/idp-answer.test.ts drives it in Chromium).
 */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  };
}

const note = (logout?: EndedNote["logout"]): EndedNote => ({
  lsid: "A".repeat(43),
  iss: "https://idp.example.com",
  sub: "user-1",
  createdAt: 1,
  ...(logout ? { logout } : {}),
});

describe("the session_state a tab may ask with", () => {
  it("is the last one the IdP answered 'unchanged' to, for that session only", () => {
    const storage = memoryStorage();
    expect(recallIdpSession("session-1", storage)).toBeUndefined();
    rememberIdpSession("session-1", "hash.salt", storage);
    expect(recallIdpSession("session-1", storage)).toBe("hash.salt");
    // Another session of this tab (signed in again since) never lends its state to this one.
    expect(recallIdpSession("session-2", storage)).toBeUndefined();
    rememberIdpSession("session-2", "other.salt", storage);
    expect(recallIdpSession("session-1", storage)).toBeUndefined();
  });

  it("is none when the storage holds something else, or there is no storage", () => {
    const storage = memoryStorage();
    storage.setItem("lockstep:idp-session", "{not json");
    expect(recallIdpSession("session-1", storage)).toBeUndefined();
    expect(recallIdpSession("session-1", undefined)).toBeUndefined();
  });
});

describe("the IdP's answer (SM 1.0 §3.2)", () => {
  it("'changed' means its session ended, 'unchanged' that it lives, 'error' no answer; anything else is not an answer", () => {
    expect(readIdpAnswer("changed")).toBe("ended");
    expect(readIdpAnswer("unchanged")).toBe("active");
    expect(readIdpAnswer("error")).toBe("unknown");
    for (const other of ["", "Changed", { result: "changed" }, null, undefined]) expect(readIdpAnswer(other)).toBeUndefined();
  });

  it("is said plainly, without 'if' or 'may'", () => {
    const ended = idpAnswerText("ended", "Lockstep Bank");
    expect(ended).toBe(
      "You are signed out at your identity provider too: its session check in this browser says that its session has ended.",
    );
    const active = idpAnswerText("active", "Lockstep Bank");
    expect(active).toMatch(/^Your identity provider says you are still signed in there/);
    for (const text of [ended, active]) expect(text).not.toMatch(/\bif you\b|does not tell/);
  });
});

describe("when the page asks", () => {
  const ending = (logout?: EndedNote["logout"]) =>
    ({ state: "ended", note: note(logout), reason: "logout", mechanism: "this_browser" }) as const;

  it("only after the IdP came back with our state, which alone proves nothing about its session", () => {
    const returned = messageFor(ending("returned"), "Lockstep Bank");
    expect(returned).toMatchObject({ askIdp: true, idpMayBeActive: true });
    expect(returned.body).toContain("does not tell Lockstep Bank whether it ended its own session too");
    for (const logout of ["sent", "not_returned", undefined] as const) {
      expect(messageFor(ending(logout), "Lockstep Bank").askIdp).toBeUndefined();
    }
    expect(
      messageFor({ state: "ended", note: note("returned"), reason: "revoked", mechanism: "backchannel" }, "Lockstep Bank").askIdp,
    ).toBeUndefined();
  });
});
