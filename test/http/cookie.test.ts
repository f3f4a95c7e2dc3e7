import { CookieSigner, readSessionCookie } from "../../src/http/cookie";
import { newSessionKey } from "../../src/session/keys";

const OLD_SECRET = "old-secret-0123456789abcdef";
const NEW_SECRET = "new-secret-0123456789abcdef";
const OTHER_SECRET = "other-secret-0123456789abcdef";

/** The signature part of a signed value. */
function signatureOf(value: string): string {
  return value.slice(value.lastIndexOf(".") + 1);
}

describe("CookieSigner", () => {
  test("a signed key is read back", () => {
    const signer = new CookieSigner([NEW_SECRET]);
    const sessionKey = newSessionKey();
    expect(signer.unsign(signer.sign(sessionKey))).toBe(sessionKey);
  });

  test("the cookie value is the key, a dot and a 43-character base64url signature", () => {
    const sessionKey = newSessionKey();
    const value = new CookieSigner([NEW_SECRET]).sign(sessionKey);
    expect(value).toMatch(/^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
    expect(value.startsWith(`${sessionKey}.`)).toBe(true);
  });

  test("signing is deterministic and differs per key and per secret", () => {
    const sessionKey = newSessionKey();
    const signer = new CookieSigner([NEW_SECRET]);
    expect(signer.sign(sessionKey)).toBe(signer.sign(sessionKey));
    expect(signer.sign(newSessionKey())).not.toBe(signer.sign(sessionKey));
    expect(new CookieSigner([OLD_SECRET]).sign(sessionKey)).not.toBe(signer.sign(sessionKey));
  });

  test("a signer needs at least one secret", () => {
    expect(() => new CookieSigner([])).toThrow();
  });

  describe("when secrets are rotated", () => {
    test("the first secret signs", () => {
      const sessionKey = newSessionKey();
      const rotated = new CookieSigner([NEW_SECRET, OLD_SECRET]);
      expect(rotated.sign(sessionKey)).toBe(new CookieSigner([NEW_SECRET]).sign(sessionKey));
    });

    test("a value signed with any listed secret verifies", () => {
      const rotated = new CookieSigner([NEW_SECRET, OLD_SECRET, OTHER_SECRET]);
      for (const secret of [NEW_SECRET, OLD_SECRET, OTHER_SECRET]) {
        const sessionKey = newSessionKey();
        expect(rotated.unsign(new CookieSigner([secret]).sign(sessionKey))).toBe(sessionKey);
      }
    });

    test("a value signed with a secret no longer listed is rejected", () => {
      const sessionKey = newSessionKey();
      const retired = new CookieSigner([OLD_SECRET]).sign(sessionKey);
      expect(new CookieSigner([NEW_SECRET]).unsign(retired)).toBeUndefined();
      expect(new CookieSigner([NEW_SECRET, OTHER_SECRET]).unsign(retired)).toBeUndefined();
    });
  });

  describe("when the signature is forged", () => {
    const signer = new CookieSigner([NEW_SECRET]);

    test("a signature made with an unknown secret is rejected", () => {
      const sessionKey = newSessionKey();
      expect(signer.unsign(new CookieSigner([OTHER_SECRET]).sign(sessionKey))).toBeUndefined();
    });

    test("a valid signature moved onto another key is rejected", () => {
      const signature = signatureOf(signer.sign(newSessionKey()));
      expect(signer.unsign(`${newSessionKey()}.${signature}`)).toBeUndefined();
    });

    test("a signature with one character changed is rejected", () => {
      const sessionKey = newSessionKey();
      const signature = signatureOf(signer.sign(sessionKey));
      for (const index of [0, 10, 21, 41]) {
        const original = signature[index] as string;
        const swapped = original === "A" ? "B" : "A";
        const tampered = `${signature.slice(0, index)}${swapped}${signature.slice(index + 1)}`;
        expect(signer.unsign(`${sessionKey}.${tampered}`)).toBeUndefined();
      }
    });

    test("a key with one character changed is rejected", () => {
      const sessionKey = newSessionKey();
      const signature = signatureOf(signer.sign(sessionKey));
      const swapped = sessionKey[0] === "A" ? "B" : "A";
      expect(signer.unsign(`${swapped}${sessionKey.slice(1)}.${signature}`)).toBeUndefined();
    });

    test("an all-zero signature is rejected", () => {
      expect(signer.unsign(`${newSessionKey()}.${"A".repeat(43)}`)).toBeUndefined();
    });

    test("a value verified before does not vouch for tampered copies of it", () => {
      const sessionKey = newSessionKey();
      const value = signer.sign(sessionKey);
      // Verified twice: the second answer comes from the remembered verdict and must be the same.
      expect(signer.unsign(value)).toBe(sessionKey);
      expect(signer.unsign(value)).toBe(sessionKey);
      const swapped = value.endsWith("A") ? "B" : "A";
      expect(signer.unsign(`${value.slice(0, -1)}${swapped}`)).toBeUndefined();
      expect(signer.unsign(`${value} `)).toBeUndefined();
      expect(new CookieSigner([OTHER_SECRET]).unsign(value)).toBeUndefined();
    });
  });

  describe("when the value is malformed", () => {
    const signer = new CookieSigner([NEW_SECRET]);
    const sessionKey = newSessionKey();
    const valid = signer.sign(sessionKey);
    const signature = signatureOf(valid);

    test.each([
      ["empty", ""],
      ["a lone dot", "."],
      ["no dot", `${sessionKey}${signature}`],
      ["the key alone", sessionKey],
      ["the signature alone", signature],
      ["a dot and a signature", `.${signature}`],
      ["a key and a dot", `${sessionKey}.`],
      ["a short signature", `${sessionKey}.${signature.slice(0, 42)}`],
      ["a long signature", `${sessionKey}.${signature}A`],
      ["base64 padding", `${sessionKey}.${signature}=`],
      ["characters outside base64url", `${sessionKey}.${"!".repeat(43)}`],
      ["spaces in the signature", `${sessionKey}.${signature.slice(0, 40)}   `],
      ["a short key", `${sessionKey.slice(1)}.${signature}`],
      ["a long key", `${sessionKey}A.${signature}`],
      ["a key with a dot", `${sessionKey.slice(0, 16)}.${sessionKey.slice(17)}.${signature}`],
      ["a key with spaces", `${" ".repeat(32)}.${signature}`],
      ["a key with non-ASCII", `${"é".repeat(32)}.${signature}`],
      ["a key with a NUL", `${sessionKey.slice(0, 31)}\u0000.${signature}`],
      ["two signatures", `${valid}.${signature}`],
      ["a very long value", "a".repeat(1_000_000)],
      ["a very long value with a dot", `${"a".repeat(500_000)}.${"b".repeat(500_000)}`],
    ])("%s is rejected", (_shape, value) => {
      expect(signer.unsign(value)).toBeUndefined();
    });

    test("a signature that is not canonical base64url is rejected", () => {
      // Only the exact string the server issued names the session; Django compares the encoded signature too.
      const standardAlphabet = signature.replace(/-/g, "+").replace(/_/g, "/");
      const variants = [standardAlphabet];
      const last = signature[42] as string;
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      // The last of 43 characters carries two spare bits, so other characters can decode to the same bytes.
      for (const other of alphabet) if (other !== last) variants.push(`${signature.slice(0, 42)}${other}`);
      const accepted = variants
        .filter((variant) => variant !== signature)
        .filter((variant) => signer.unsign(`${sessionKey}.${variant}`) !== undefined);
      expect(accepted).toEqual([]);
    });
  });
});

describe("readSessionCookie", () => {
  const signer = new CookieSigner([NEW_SECRET]);
  const sessionKey = newSessionKey();
  const valid = signer.sign(sessionKey);

  test("no Cookie header means no cookie", () => {
    expect(readSessionCookie(undefined, "sessionid", signer)).toEqual({
      present: false,
      sessionKey: undefined,
    });
    expect(readSessionCookie("", "sessionid", signer)).toEqual({ present: false, sessionKey: undefined });
  });

  test("the session cookie is found among several cookies", () => {
    const header = `theme=dark; csrftoken=abc; sessionid=${valid}; lang=en`;
    expect(readSessionCookie(header, "sessionid", signer)).toEqual({ present: true, sessionKey });
  });

  test("the configured cookie name is the one read", () => {
    const header = `sessionid=${signer.sign(newSessionKey())}; app_session=${valid}`;
    expect(readSessionCookie(header, "app_session", signer)).toEqual({ present: true, sessionKey });
  });

  test("cookies with similar names are not the session cookie", () => {
    const header = `xsessionid=${valid}; sessionid2=${valid}; SESSIONID=${valid}`;
    expect(readSessionCookie(header, "sessionid", signer)).toEqual({ present: false, sessionKey: undefined });
  });

  test("a session cookie with no valid key is present but names nothing", () => {
    for (const value of [
      "",
      "garbage",
      `${sessionKey}.`,
      new CookieSigner([OTHER_SECRET]).sign(sessionKey),
    ]) {
      expect(readSessionCookie(`sessionid=${value}`, "sessionid", signer)).toEqual({
        present: true,
        sessionKey: undefined,
      });
    }
  });

  test("odd bytes in other cookies do not hide the session cookie", () => {
    const header = `a=%zz; b=\u00ff\u00fe; c="quoted"; =novalue; noequals; sessionid=${valid}; d=%E2%9C%93`;
    expect(readSessionCookie(header, "sessionid", signer)).toEqual({ present: true, sessionKey });
  });

  test("odd bytes in the session cookie name no session", () => {
    for (const value of ["%zz", "\u00ff\u00fe\u0001", `"${valid}"`, `${valid}%00`, `${valid}%20`]) {
      expect(readSessionCookie(`sessionid=${value}`, "sessionid", signer)).toEqual({
        present: true,
        sessionKey: undefined,
      });
    }
  });

  test("extra spaces around the cookie are tolerated", () => {
    expect(readSessionCookie(`  other=1 ;   sessionid=${valid}  `, "sessionid", signer)).toEqual({
      present: true,
      sessionKey,
    });
  });

  test("a very long Cookie header is read without trouble", () => {
    const header = `${"x=".concat("y".repeat(100_000))}; sessionid=${"z".repeat(100_000)}`;
    expect(readSessionCookie(header, "sessionid", signer)).toEqual({ present: true, sessionKey: undefined });
  });
});
