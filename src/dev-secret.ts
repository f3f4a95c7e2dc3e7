import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "./config";
import { sqliteFilePath } from "./stores/index";

/** The file, next to the SQLite database, that keeps the generated development secret. */
export const DEV_SECRET_FILE = ".sessionql-secret";

/** Where the secrets came from, for the start-up log. */
export type SecretSource = "config" | "file" | "memory";

/**
 * The configured secrets, or in development a generated one: kept beside the SQLite file so sessions survive a
 * restart, or (for other stores) only in this process's memory. Production never gets here without a secret.
 */
export function resolveSecrets(config: Config): { secrets: string[]; source: SecretSource; file?: string } {
  if (config.secrets.length > 0) return { secrets: [...config.secrets], source: "config" };
  const databaseFile = sqliteFilePath(config.storeUrl);
  if (databaseFile === undefined) return { secrets: [generateSecret()], source: "memory" };
  const file = join(dirname(databaseFile), DEV_SECRET_FILE);
  try {
    return { secrets: [readFileSync(file, "utf8").trim()], source: "file", file };
  } catch {
    mkdirSync(dirname(file), { recursive: true });
    try {
      // `wx` fails if another process created it meanwhile; then theirs is the one to use.
      writeFileSync(file, `${generateSecret()}\n`, { mode: 0o600, flag: "wx" });
    } catch {}
    return { secrets: [readFileSync(file, "utf8").trim()], source: "file", file };
  }
}

function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}
