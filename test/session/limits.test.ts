import { BadInputError } from "../../src/session/errors";
import {
  checkKey,
  checkSessionSize,
  checkValue,
  jsonBytes,
  jsonDepth,
  type SessionLimits,
} from "../../src/session/limits";

const LIMITS: SessionLimits = {
  maxKeyLength: 256,
  maxValueBytes: 65536,
  maxSessionBytes: 262144,
  maxDepth: 32,
};

/** The BadInputError `check` throws; fails the test when it throws nothing or something else. */
function rejection(check: () => unknown): BadInputError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).code).toBe("BAD_INPUT");
    return error as BadInputError;
  }
  throw new Error("expected a BadInputError, nothing was thrown");
}

/** `[[…[]…]]`, `levels` arrays deep, built without recursion. */
function nestedArrays(levels: number): unknown {
  let value: unknown[] = [];
  for (let level = 1; level < levels; level++) value = [value];
  return value;
}

describe("a key", () => {
  test("of 1 to 256 characters is accepted", () => {
    expect(() => checkKey("k", LIMITS)).not.toThrow();
    expect(() => checkKey("k".repeat(256), LIMITS)).not.toThrow();
  });

  test("that is empty is refused with the limit named", () => {
    expect(rejection(() => checkKey("", LIMITS)).message).toBe(
      "key must be 1–256 characters (SESSION_MAX_KEY_LENGTH), got 0",
    );
  });

  test("over the limit is refused with the message of the contract", () => {
    expect(rejection(() => checkKey("k".repeat(300), LIMITS)).message).toBe(
      "key must be 1–256 characters (SESSION_MAX_KEY_LENGTH), got 300",
    );
  });

  test("is measured in characters, so an emoji counts one", () => {
    expect(() => checkKey("😀".repeat(256), LIMITS)).not.toThrow();
    expect(rejection(() => checkKey("😀".repeat(257), LIMITS)).message).toMatch(/got 257$/);
  });

  test("the limit comes from the configuration", () => {
    const limits = { ...LIMITS, maxKeyLength: 8 };
    expect(() => checkKey("12345678", limits)).not.toThrow();
    expect(rejection(() => checkKey("123456789", limits)).message).toBe(
      "key must be 1–8 characters (SESSION_MAX_KEY_LENGTH), got 9",
    );
  });
});

describe("a value's size", () => {
  test("is the UTF-8 byte length of its JSON text", () => {
    expect(jsonBytes("abc")).toBe(5);
    expect(jsonBytes("é")).toBe(4);
    expect(jsonBytes("😀")).toBe(6);
    expect(jsonBytes({ a: [1, true, null] })).toBe('{"a":[1,true,null]}'.length);
    expect(jsonBytes('"')).toBe(4);
  });

  test("up to the limit is accepted and its size returned", () => {
    const value = "x".repeat(LIMITS.maxValueBytes - 2);
    expect(checkValue(value, LIMITS)).toBe(LIMITS.maxValueBytes);
  });

  test("one byte over the limit is refused with the limit named", () => {
    const value = "x".repeat(LIMITS.maxValueBytes - 1);
    expect(rejection(() => checkValue(value, LIMITS)).message).toBe(
      "value must be at most 65536 bytes of JSON (SESSION_MAX_VALUE_BYTES), got 65537",
    );
  });

  test("counts multi-byte characters in bytes, not characters", () => {
    // "é" is two bytes in UTF-8: 32767 of them and the quotes make exactly 65536 bytes in 32769 characters.
    expect(() => checkValue("é".repeat(32767), LIMITS)).not.toThrow();
    expect(rejection(() => checkValue("é".repeat(32768), LIMITS)).message).toMatch(/got 65538$/);
  });

  test("names what was checked in the message", () => {
    const value = "x".repeat(LIMITS.maxValueBytes);
    expect(rejection(() => checkValue(value, LIMITS, "default")).message).toMatch(
      /^default must be at most 65536 bytes/,
    );
  });
});

describe("a session's size", () => {
  test("is the byte length of the JSON text of its whole data object", () => {
    const data = { a: "x".repeat(100) };
    const bytes = jsonBytes(data);
    expect(() => checkSessionSize(data, { ...LIMITS, maxSessionBytes: bytes })).not.toThrow();
    expect(rejection(() => checkSessionSize(data, { ...LIMITS, maxSessionBytes: bytes - 1 })).message).toBe(
      `session must be at most ${bytes - 1} bytes of JSON (SESSION_MAX_BYTES), got ${bytes}`,
    );
  });

  test("over the default limit is refused with that limit named", () => {
    const data = Object.fromEntries(["a", "b", "c", "d", "e"].map((key) => [key, "x".repeat(60000)]));
    expect(rejection(() => checkSessionSize(data, LIMITS)).message).toBe(
      "session must be at most 262144 bytes of JSON (SESSION_MAX_BYTES), got 300036",
    );
  });
});

describe("depth", () => {
  test.each<[string, number, unknown]>([
    ["a number", 0, 1],
    ["a string", 0, "s"],
    ["null", 0, null],
    ["an empty array", 1, []],
    ["an empty object", 1, {}],
    ["an array of scalars", 1, [1, "a", null]],
    ["an object in an array", 2, [{}]],
    ["an object of objects", 2, { a: { b: 1 } }],
    ["the deepest of several branches", 4, { a: 1, b: [[[]]], c: [{}] }],
  ])("of %s is %i", (_name, depth, value) => {
    expect(jsonDepth(value)).toBe(depth);
  });

  test("up to the limit is accepted", () => {
    expect(() => checkValue(nestedArrays(32), LIMITS)).not.toThrow();
  });

  test("one level over the limit is refused with the limit named", () => {
    expect(rejection(() => checkValue(nestedArrays(33), LIMITS)).message).toBe(
      "value must be nested at most 32 levels deep (SESSION_MAX_DEPTH), got 33",
    );
  });

  test("of a value 100000 levels deep is refused without overflowing the stack", () => {
    const deep = nestedArrays(100_000);
    expect(rejection(() => checkValue(deep, LIMITS)).message).toBe(
      "value must be nested at most 32 levels deep (SESSION_MAX_DEPTH), got 100000",
    );
  });

  test("of deep objects is counted like deep arrays", () => {
    let value: Record<string, unknown> = {};
    for (let level = 1; level < 100_000; level++) value = { next: value };
    expect(jsonDepth(value)).toBe(100_000);
  });
});
