import { type Config, ConfigError, loadConfig } from "../src/config";

const SECRET = "config-test-secret-0123456789";
const OLD_SECRET = "config-test-old-secret-0123456789";

/** The ConfigError that `env` is refused with (fails the test when it is accepted). */
function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

/** Every object reachable from `value`, itself included. */
function objectsIn(value: unknown): object[] {
  if (value === null || typeof value !== "object") return [];
  return [value, ...Object.values(value).flatMap(objectsIn)];
}

describe("when the environment is empty", () => {
  test("every setting takes the default of the contract's table", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false,
      port: 4000,
      host: "127.0.0.1",
      storeUrl: "sqlite://./data/sessions.sqlite",
      secrets: [],
      cookie: {
        name: "sessionid",
        ageSeconds: 1209600,
        path: "/",
        secure: false,
        httpOnly: true,
        sameSite: "Lax",
      },
      expireAtBrowserClose: false,
      saveEveryRequest: false,
      limits: { maxKeyLength: 256, maxValueBytes: 65536, maxSessionBytes: 262144, maxDepth: 32 },
      corsOrigins: [],
      trustProxy: false,
    });
    expect(config.cookie.domain).toBeUndefined();
  });

  test("an empty value counts as unset", () => {
    expect(loadConfig({ PORT: "", SESSION_COOKIE_NAME: "", SESSION_COOKIE_DOMAIN: "" })).toEqual(
      loadConfig({}),
    );
  });

  test("a missing secret is accepted in development", () => {
    expect(loadConfig({ NODE_ENV: "development" }).secrets).toEqual([]);
  });
});

describe("when every variable is set", () => {
  const env = {
    PORT: "8080",
    HOST: "0.0.0.0",
    SESSION_STORE: "memory://",
    SESSION_SECRET: SECRET,
    SESSION_COOKIE_NAME: "app_session",
    SESSION_COOKIE_AGE: "3600",
    SESSION_COOKIE_DOMAIN: ".example.com",
    SESSION_COOKIE_PATH: "/app",
    SESSION_COOKIE_SECURE: "true",
    SESSION_COOKIE_HTTPONLY: "false",
    SESSION_COOKIE_SAMESITE: "Strict",
    SESSION_EXPIRE_AT_BROWSER_CLOSE: "1",
    SESSION_SAVE_EVERY_REQUEST: "1",
    SESSION_MAX_KEY_LENGTH: "64",
    SESSION_MAX_VALUE_BYTES: "1024",
    SESSION_MAX_BYTES: "4096",
    SESSION_MAX_DEPTH: "8",
    CORS_ORIGINS: "https://app.example.com",
    TRUST_PROXY: "true",
  };

  test("each one is parsed into its setting", () => {
    expect(loadConfig(env)).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      storeUrl: "memory://",
      secrets: [SECRET],
      cookie: {
        name: "app_session",
        ageSeconds: 3600,
        domain: ".example.com",
        path: "/app",
        secure: true,
        httpOnly: false,
        sameSite: "Strict",
      },
      expireAtBrowserClose: true,
      saveEveryRequest: true,
      limits: { maxKeyLength: 64, maxValueBytes: 1024, maxSessionBytes: 4096, maxDepth: 8 },
      corsOrigins: ["https://app.example.com"],
      trustProxy: true,
    });
  });

  test.each([
    ["true", true],
    ["false", false],
    ["1", true],
    ["0", false],
  ])("the boolean %s reads as %s", (text, expected) => {
    const config = loadConfig({
      SESSION_COOKIE_SECURE: text,
      SESSION_COOKIE_HTTPONLY: text,
      SESSION_EXPIRE_AT_BROWSER_CLOSE: text,
      SESSION_SAVE_EVERY_REQUEST: text,
    });
    // TRUST_PROXY is not a boolean alone: "1" is a hop count there (test/http/client-address.test.ts).
    expect([
      config.cookie.secure,
      config.cookie.httpOnly,
      config.expireAtBrowserClose,
      config.saveEveryRequest,
    ]).toEqual([expected, expected, expected, expected]);
  });

  test.each([
    "memory://",
    "sqlite:///var/lib/sessionql/sessions.sqlite",
    "redis://localhost:6379/2",
    "rediss://cache.example.com:6380",
    "redis+cluster://10.0.0.1:7000,10.0.0.2:7000",
    "postgres://app:pw@db.example.com:5432/sessions",
  ])("the store URL %s is accepted", (url) => {
    expect(loadConfig({ SESSION_STORE: url }).storeUrl).toBe(url);
  });

  test("CORS origins are a comma-separated list, trimmed, blanks dropped", () => {
    const config = loadConfig({ CORS_ORIGINS: " https://a.example.com , http://localhost:3000,, " });
    expect(config.corsOrigins).toEqual(["https://a.example.com", "http://localhost:3000"]);
  });

  test("SameSite=None is accepted with Secure", () => {
    const config = loadConfig({ SESSION_COOKIE_SAMESITE: "None", SESSION_COOKIE_SECURE: "true" });
    expect(config.cookie.sameSite).toBe("None");
  });
});

describe("when SESSION_SECRET lists several secrets", () => {
  test("the list is split on commas and trimmed, the signing secret first", () => {
    const config = loadConfig({ SESSION_SECRET: ` ${SECRET} , ${OLD_SECRET} ` });
    expect(config.secrets).toEqual([SECRET, OLD_SECRET]);
  });
});

describe("the returned config", () => {
  test("is frozen all the way down", () => {
    const config = loadConfig({
      SESSION_SECRET: `${SECRET},${OLD_SECRET}`,
      CORS_ORIGINS: "https://a.example.com",
    });
    const objects = objectsIn(config);
    expect(objects.length).toBeGreaterThanOrEqual(5);
    for (const object of objects) expect(Object.isFrozen(object)).toBe(true);
  });

  test("refuses changes", () => {
    const config = loadConfig({}) as { -readonly [K in keyof Config]: Config[K] };
    expect(() => {
      config.port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.cookie as { secure: boolean }).secure = true;
    }).toThrow(TypeError);
    expect(() => (config.corsOrigins as string[]).push("https://evil.example.com")).toThrow(TypeError);
    expect(loadConfig({}).port).toBe(4000);
  });
});

describe("when a variable has an invalid value", () => {
  test.each([
    ["PORT", "http"],
    ["PORT", "65536"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["HOST", "local host"],
    ["SESSION_STORE", "mysql://db.example.com/sessions"],
    ["SESSION_STORE", "./sessions.sqlite"],
    ["SESSION_COOKIE_NAME", "session id"],
    ["SESSION_COOKIE_NAME", "a;b"],
    ["SESSION_COOKIE_AGE", "0"],
    ["SESSION_COOKIE_AGE", "two weeks"],
    ["SESSION_COOKIE_DOMAIN", "example.com; Secure"],
    ["SESSION_COOKIE_PATH", "app"],
    ["SESSION_COOKIE_PATH", "/; HttpOnly"],
    ["SESSION_COOKIE_SECURE", "maybe"],
    ["SESSION_COOKIE_HTTPONLY", "2"],
    ["SESSION_COOKIE_SAMESITE", "Sometimes"],
    ["SESSION_EXPIRE_AT_BROWSER_CLOSE", "sometimes"],
    ["SESSION_SAVE_EVERY_REQUEST", "always"],
    ["SESSION_MAX_KEY_LENGTH", "0"],
    ["SESSION_MAX_KEY_LENGTH", "many"],
    ["SESSION_MAX_VALUE_BYTES", "-1"],
    ["SESSION_MAX_BYTES", "1.5"],
    ["SESSION_MAX_DEPTH", "0"],
    ["CORS_ORIGINS", "*"],
    ["CORS_ORIGINS", "app.example.com"],
    ["CORS_ORIGINS", "https://app.example.com/path"],
    ["CORS_ORIGINS", "ftp://files.example.com"],
    ["TRUST_PROXY", "yes please"],
  ])("%s=%j is refused with a message naming it", (name, value) => {
    const error = refusal({ [name]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(name);
    expect(error.message).toContain(name);
  });

  test("the message says what is allowed", () => {
    expect(refusal({ SESSION_COOKIE_SAMESITE: "Sometimes" }).message).toMatch(/Lax.*Strict.*None/);
    expect(refusal({ PORT: "http" }).message).toMatch(/0.*65535/);
  });

  test("a bad CORS origin is named in the message", () => {
    const error = refusal({ CORS_ORIGINS: "https://ok.example.com, not an origin" });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain("not an origin");
  });
});

describe("when several variables are invalid", () => {
  test("one ConfigError names every bad variable", () => {
    const bad = {
      PORT: "http",
      SESSION_COOKIE_SAMESITE: "Sometimes",
      SESSION_MAX_DEPTH: "deep",
      CORS_ORIGINS: "*",
      TRUST_PROXY: "maybe",
    };
    const error = refusal({ ...bad, HOST: "127.0.0.1" });
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.problems).toHaveLength(Object.keys(bad).length);
    for (const name of Object.keys(bad)) expect(error.message).toContain(name);
    expect(error.message).not.toContain("HOST");
  });
});

describe("when NODE_ENV is production", () => {
  test("a missing SESSION_SECRET is refused and named", () => {
    const error = refusal({ NODE_ENV: "production" });
    expect(error.message).toContain("SESSION_SECRET");
  });

  test("a SESSION_SECRET of only commas and spaces is refused", () => {
    expect(refusal({ NODE_ENV: "production", SESSION_SECRET: " , ," }).message).toContain("SESSION_SECRET");
  });

  test("a configured secret is accepted", () => {
    const config = loadConfig({ NODE_ENV: "production", SESSION_SECRET: SECRET });
    expect(config.production).toBe(true);
    expect(config.secrets).toEqual([SECRET]);
  });
});

describe("when SameSite is None", () => {
  test("without Secure it is refused, naming both variables", () => {
    const error = refusal({ SESSION_COOKIE_SAMESITE: "None" });
    expect(error.message).toContain("SESSION_COOKIE_SAMESITE");
    expect(error.message).toContain("SESSION_COOKIE_SECURE");
  });
});
