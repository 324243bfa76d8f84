import { describe, expect, it } from "vitest";
import { RequestCookies } from "next/dist/compiled/@edge-runtime/cookies";
import { readCookie, serializeCookie } from "@/lib/http/cookies";
import { cookieNames } from "@/lib/session/cookies";

describe("cookies", () => {
  it("reads a duplicated cookie name exactly as Next's parser does, so every gate judges the same session", () => {
    const headers = new Headers({ cookie: "bank.session=first; other=1; bank.session=second" });
    const request = new Request("http://localhost/", { headers });
    expect(readCookie(request, "bank.session")).toBe(new RequestCookies(headers).get("bank.session")?.value);
    expect(readCookie(request, "bank.session")).toBe("second");
    expect(readCookie(request, "missing")).toBeUndefined();
  });

  it("reads a percent-encoded or undecodable value exactly as Next's parser does (the guard, pages and route handlers agree)", () => {
    const cases = [
      "bank.session=%61%62%63",
      "bank.session=abc%2",
      "bank.session=good; bank.session=%E0%A4%A",
      "bank.session=a%20b;other=%ZZ",
      "bank.session",
      "  bank.session=spaced  ",
    ];
    for (const cookie of cases) {
      const headers = new Headers({ cookie });
      const request = new Request("http://localhost/", { headers });
      expect(readCookie(request, "bank.session"), cookie).toBe(new RequestCookies(headers).get("bank.session")?.value);
    }
    expect(readCookie(new Request("http://localhost/", { headers: { cookie: "bank.session=%61%62%63" } }), "bank.session")).toBe("abc");
  });

  it("names the session cookie __Host- under https: host-only, Path=/, Secure, no Domain (RFC 6265bis §4.1.3.2)", () => {
    const names = cookieNames("bank", "https://bank.example.com");
    expect(names.session).toBe("__Host-bank.session");
    const cleared = serializeCookie(names.session, "", { maxAge: 0, secure: names.secure });
    expect(cleared).toContain("Path=/");
    expect(cleared).toContain("Secure");
    expect(cleared).not.toMatch(/Domain=/i);
    expect(cookieNames("bank", "http://localhost:3000").session).toBe("bank.session");
  });
});
