import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** What the soak needs of test/model/run.ts, which is written separately and may not be there yet. */
export interface ModelReport {
  seed: number;
  operations: number;
  commands: number;
  elapsedMs: number;
}

type ModelRunner = (options: {
  env: Record<string, string>;
  runs: number;
  steps?: number;
  seed: number;
  label?: string;
}) => Promise<ModelReport>;

const RUNNER_PATH = resolve(__dirname, "../../test/model/run.ts");

/**
 * The session model's runner when test/model/run.ts exists and exports `runSessionModel`, else why not. It is
 * required at run time, not imported, so the soak still type-checks and runs while that file is missing.
 */
export function loadModelRunner(): { runner: ModelRunner } | { missing: string } {
  if (!existsSync(RUNNER_PATH)) return { missing: "test/model/run.ts does not exist" };
  const exported = (require(RUNNER_PATH) as { runSessionModel?: unknown }).runSessionModel;
  if (typeof exported !== "function") return { missing: "test/model/run.ts exports no runSessionModel" };
  return { runner: exported as ModelRunner };
}
