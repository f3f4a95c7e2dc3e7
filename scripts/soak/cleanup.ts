/** One thing the soak started and has to end: a child process, or a directory with a stop that removes it. */
interface Started {
  readonly name: string;
  readonly stop: () => Promise<void>;
  /** The child's pid while it runs, for the last-resort kill on exit; undefined for a directory or a stopped child. */
  readonly pid: () => number | undefined;
}

/** How long a polite stop may take before the process is killed outright. */
const STOP_TIMEOUT_MS = 8_000;

/**
 * Everything the soak started, so that a normal end, an error and a Ctrl-C all stop every sessionql and
 * redis-server it spawned. `stopAll` asks them nicely in reverse order of start; `killAllNow` is for
 * process.on("exit"), where only synchronous calls run, and SIGKILLs whatever still has a pid.
 */
export class Cleanup {
  private readonly started: Started[] = [];

  /** Registers something started; the returned function stops it (once) and forgets it. */
  add(name: string, stop: () => Promise<void>, pid: () => number | undefined = () => undefined) {
    const entry: Started = { name, stop, pid };
    this.started.push(entry);
    return () => this.stopOne(entry);
  }

  /** Stops everything still registered, newest first; a stop that fails or hangs is killed and reported. */
  async stopAll(): Promise<void> {
    for (const entry of [...this.started].reverse()) await this.stopOne(entry);
  }

  /** SIGKILLs every registered child that still has a pid; synchronous, for the exit handler. */
  killAllNow(): void {
    for (const entry of this.started) killQuietly(entry.pid());
  }

  private async stopOne(entry: Started): Promise<void> {
    const index = this.started.indexOf(entry);
    if (index < 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS);
    });
    try {
      const outcome = await Promise.race([entry.stop().then(() => "stopped" as const), timeout]);
      if (outcome === "timeout") {
        process.stderr.write(`soak: ${entry.name} did not stop within ${STOP_TIMEOUT_MS} ms; killing it\n`);
        killQuietly(entry.pid());
      }
    } catch (error) {
      process.stderr.write(`soak: stopping ${entry.name} failed: ${(error as Error).message}; killing it\n`);
      killQuietly(entry.pid());
    } finally {
      clearTimeout(timer);
      this.started.splice(this.started.indexOf(entry), 1);
    }
  }
}

function killQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
