import { isWellFormedKey, newSessionKey, publicId } from "../../src/session/keys";

const SECRET = "first-secret";

describe("a new session key", () => {
  test("is well-formed", () => {
    expect(isWellFormedKey(newSessionKey())).toBe(true);
  });

  test("carries at least 128 bits", () => {
    const bits = Buffer.from(newSessionKey(), "base64url").length * 8;
    expect(bits).toBeGreaterThanOrEqual(128);
  });

  test("is unique across many", () => {
    const keys = new Set(Array.from({ length: 10_000 }, () => newSessionKey()));
    expect(keys.size).toBe(10_000);
  });

  test("uses the whole alphabet rather than a fixed pattern", () => {
    // 2000 keys of 32 characters: every base64url character shows up unless the source is far from random.
    const characters = new Set(Array.from({ length: 2000 }, () => newSessionKey()).join(""));
    expect(characters.size).toBe(64);
  });
});

describe("isWellFormedKey", () => {
  const key = newSessionKey();

  test.each([
    ["an empty string", ""],
    ["a key one character short", key.slice(1)],
    ["a key one character long", `${key}A`],
    ["a key with padding", `${key.slice(2)}==`],
    ["a key in standard base64", `${key.slice(2)}+/`],
    ["a key with a space", `${key.slice(1)} `],
    ["a key with a trailing newline", `${key.slice(1)}\n`],
    ["a key with a non-ASCII letter", `${key.slice(1)}é`],
    ["a key with a dot", `${key.slice(1)}.`],
  ])("rejects %s", (_name, value) => {
    expect(isWellFormedKey(value)).toBe(false);
  });

  test("accepts every base64url character", () => {
    expect(isWellFormedKey("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef")).toBe(true);
    expect(isWellFormedKey("ghijklmnopqrstuvwxyz0123456789-_")).toBe(true);
  });
});

describe("publicId", () => {
  const key = newSessionKey();

  test("is stable for one key and secret", () => {
    expect(publicId(key, SECRET)).toBe(publicId(key, SECRET));
  });

  test("differs per secret", () => {
    expect(publicId(key, SECRET)).not.toBe(publicId(key, "another-secret"));
  });

  test("differs per key", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => publicId(newSessionKey(), SECRET)));
    expect(ids.size).toBe(1000);
  });

  test("does not contain the key or any long part of it", () => {
    const id = publicId(key, SECRET);
    expect(id).not.toContain(key);
    for (let start = 0; start + 8 <= key.length; start++)
      expect(id).not.toContain(key.slice(start, start + 8));
  });

  test("is not itself a usable session key", () => {
    expect(isWellFormedKey(publicId(key, SECRET))).toBe(false);
  });
});
