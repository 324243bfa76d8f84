import { describe, expect, it } from "vitest";
import { memoryStores } from "@/lib/store/memory";
import { endSessions } from "@/lib/revocation/end-sessions";
import { noteOf } from "@/lib/session/ended";
import { readEnding } from "@/app/signed-out/ending";
import { messageFor } from "@/app/signed-out/messages";
import { signInTo } from "../support/sessions";

const ISS = "https://idp.example.com";

describe("the signed-out page's reading of a sign-out the store could not take", () => {
  it("says it is not yet recorded while its queued ending waits, and reads it like any other once stored", async () => {
    const stores = memoryStores({ ttlSeconds: 3600 });
    const { id, handle } = await signInTo(stores, ISS, Date.now());
    const note = noteOf(handle, { incomplete: true, logout: "returned" });

    const waiting = await readEnding(stores, note);
    expect(waiting.state).toBe("unavailable");
    const text = messageFor(waiting, "Bank");
    expect(text.code).toBe("logout_incomplete");
    expect(text.body).toContain("as soon as the store answers again");

    // The queue stores it (lib/revocation/pending.ts): the page now shows the recorded ending.
    await endSessions({ sessions: stores.sessions, revocations: stores.revocations, now: Date.now }, [{ kind: "session", id }], "logout", {
      detail: { mechanism: "this_browser" },
    });
    expect(await readEnding(stores, note)).toMatchObject({ state: "ended", reason: "logout", mechanism: "this_browser" });
  });
});
