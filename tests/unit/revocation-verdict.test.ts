import { describe, expect, it } from "vitest";
import { judge, revocationKeys, subjectMark } from "@/lib/store/verdict";
import { keys } from "@/lib/store/keys";
import type { SessionHandle } from "@/lib/session/handle";

const handle: SessionHandle = { lsid: "A".repeat(43), iss: "https://idp.example.com", sub: "user-1", sid: "sid-1", createdAt: 1_000_000 };

describe("revocation verdict (the edge guard's decision)", () => {
  it("lets an unrevoked session with a record pass", () => {
    expect(judge(handle, true, [null, null, null])).toEqual({ active: true });
  });

  it("ends a session revoked by its session id, with its reason", () => {
    expect(judge(handle, false, ["logout", null, null])).toEqual({ active: false, reason: "logout" });
  });

  it("ends a session whose IdP session (iss, sid) was revoked", () => {
    expect(judge(handle, true, [null, "revoked", null])).toEqual({ active: false, reason: "revoked" });
  });

  it("ends a session of a subject revoked after the session started", () => {
    expect(judge(handle, true, [null, null, subjectMark(1_000_001, "revoked")])).toEqual({ active: false, reason: "revoked" });
  });

  it("keeps a session that started after the subject-wide revocation", () => {
    expect(judge(handle, true, [null, null, subjectMark(999_999, "revoked")])).toEqual({ active: true });
  });

  it("treats a malformed subject mark as a revocation", () => {
    expect(judge(handle, true, [null, null, "garbage"])).toEqual({ active: false, reason: "revoked" });
  });

  it("treats an unknown stored reason as 'revoked' (the user never sees raw stored text)", () => {
    expect(judge(handle, true, ["<script>", null, null])).toEqual({ active: false, reason: "revoked" });
  });

  it("ends a session whose record is gone (unknown or expired)", () => {
    expect(judge(handle, false, [null, null, null])).toEqual({ active: false, reason: "expired" });
  });

  it("keys IdP sessions by issuer and sid, never sid alone (BCL §2.1, §2.4)", () => {
    const k = keys("ls:");
    const a = revocationKeys(k, handle)[1];
    const b = revocationKeys(k, { ...handle, iss: "https://other.example.com" })[1];
    expect(a).not.toEqual(b);
  });

  it("cannot be made to read another key shape by an iss or sid containing the separator", () => {
    const k = keys("ls:");
    expect(k.revokedIdpSession("t", "a|b", "c")).not.toEqual(k.revokedIdpSession("t", "a", "b|c"));
    expect(k.revokedIdpSession("t", "a{b}", "c")).not.toContain("{b}");
  });
});
