import { describe, expect, it, vi } from "vitest";
import { EncryptJWT } from "jose";
import { OPENED_HANDLES_MAX, openHandle, sealHandle, type SessionHandle } from "@/lib/session/handle";

const secret = "x".repeat(43);
const handle: SessionHandle = {
  lsid: "A".repeat(43),
  iss: "https://idp.example.com",
  sub: "user-1",
  sid: "sid-1",
  createdAt: 1_700_000_000_000,
};

describe("session handle (the only thing the cookie carries)", () => {
  it("round-trips a handle", async () => {
    const sealed = await sealHandle(handle, secret, "lockstep.session", 60);
    expect(await openHandle(sealed, secret, "lockstep.session")).toMatchObject(handle);
  });

  it("is encrypted: no identifier of the session appears in the cookie value", async () => {
    const sealed = await sealHandle(handle, secret, "lockstep.session", 60);
    const decoded = sealed
      .split(".")
      .map((part) => Buffer.from(part, "base64url").toString("latin1"))
      .join(" ");
    for (const value of [handle.lsid, handle.sub, handle.sid!, "idp.example.com"]) expect(decoded).not.toContain(value);
  });

  it("refuses a handle sealed for another cookie name (another app)", async () => {
    const sealed = await sealHandle(handle, secret, "bank.session", 60);
    await expect(openHandle(sealed, secret, "brokerage.session")).rejects.toThrow();
  });

  it("refuses a handle sealed with another secret", async () => {
    const sealed = await sealHandle(handle, secret, "lockstep.session", 60);
    await expect(openHandle(sealed, "y".repeat(43), "lockstep.session")).rejects.toThrow();
  });

  it("refuses an expired handle", async () => {
    const sealed = await sealHandle(handle, secret, "lockstep.session", -120);
    await expect(openHandle(sealed, secret, "lockstep.session")).rejects.toThrow();
  });

  it("refuses a well-encrypted payload that is not a handle", async () => {
    const bits = await crypto.subtle.deriveBits(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new TextEncoder().encode("lockstep.session"),
        info: new TextEncoder().encode("Lockstep session handle"),
      },
      await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveBits"]),
      256,
    );
    const forged = await new EncryptJWT({ lsid: "short" })
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setExpirationTime("1h")
      .encrypt(new Uint8Array(bits));
    await expect(openHandle(forged, secret, "lockstep.session")).rejects.toThrow();
  });
});

describe("session handle: values opened lately are opened again from memory", () => {
  it("opens the same value twice to the same handle, without decrypting it again", async () => {
    const sealed = await sealHandle(handle, secret, "cache.session", 60);
    const first = await openHandle(sealed, secret, "cache.session");
    const decrypt = vi.spyOn(crypto.subtle, "decrypt");
    try {
      const again = await openHandle(sealed, secret, "cache.session");
      expect(again).toEqual(first);
      expect(decrypt).not.toHaveBeenCalled();
    } finally {
      decrypt.mockRestore();
    }
  });

  it("refuses a remembered value once it has expired", async () => {
    const sealed = await sealHandle(handle, secret, "cache.session", 2);
    await openHandle(sealed, secret, "cache.session");
    vi.useFakeTimers({ now: Date.now() + 3_000, toFake: ["Date"] });
    try {
      await expect(openHandle(sealed, secret, "cache.session")).rejects.toThrow(/expired/);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not open a remembered value with another secret or for another cookie name", async () => {
    const sealed = await sealHandle(handle, secret, "cache.session", 60);
    await openHandle(sealed, secret, "cache.session");
    await expect(openHandle(sealed, "y".repeat(43), "cache.session")).rejects.toThrow();
    await expect(openHandle(sealed, secret, "other.session")).rejects.toThrow();
  });

  it("remembers at most OPENED_HANDLES_MAX values: the oldest is decrypted again", async () => {
    const oldest = await sealHandle(handle, secret, "bounded.session", 60);
    await openHandle(oldest, secret, "bounded.session");
    for (let i = 0; i < OPENED_HANDLES_MAX; i++) {
      await openHandle(
        await sealHandle({ ...handle, createdAt: handle.createdAt + i + 1 }, secret, "bounded.session", 60),
        secret,
        "bounded.session",
      );
    }
    const decrypt = vi.spyOn(crypto.subtle, "decrypt");
    try {
      await openHandle(oldest, secret, "bounded.session");
      expect(decrypt).toHaveBeenCalledTimes(1);
    } finally {
      decrypt.mockRestore();
    }
  });
});
