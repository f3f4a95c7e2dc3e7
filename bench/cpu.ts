import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

/** The core the servers run on, and the one the load generator (this process) runs on. */
const SERVER_CORE = 0;
const LOADER_CORE = 1;

/** Whether servers are started under `taskset -c 0` and this process was moved to core 1, and why not. */
export interface Pinning {
  applied: boolean;
  description: string;
}

/**
 * Moves this process (and so the children it starts later without taskset, such as redis-server) to the
 * loader core, when taskset exists and the machine has both cores.
 */
export function pinLoader(): Pinning {
  const cores = cpus().length;
  if (cores < 2) return { applied: false, description: `not applied: ${cores} core(s) available` };
  const probe = spawnSync("taskset", ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    return { applied: false, description: "not applied: taskset not found" };
  }
  const pin = spawnSync("taskset", ["-p", "-c", String(LOADER_CORE), String(process.pid)], {
    encoding: "utf8",
  });
  if (pin.status !== 0) {
    return { applied: false, description: `not applied: taskset -p failed: ${pin.stderr.trim()}` };
  }
  return {
    applied: true,
    description: `applied: servers on core ${SERVER_CORE} (taskset -c ${SERVER_CORE}), load generator and redis-server on core ${LOADER_CORE}`,
  };
}

/** The command line that starts `args` on the server core, or as is when pinning is off. */
export function onServerCore(pinning: Pinning, command: string, args: string[]): [string, string[]] {
  return pinning.applied ? ["taskset", ["-c", String(SERVER_CORE), command, ...args]] : [command, args];
}

/** The CPU model as /proc/cpuinfo names it. */
export function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

const CLOCK_TICKS_PER_SECOND = clockTicks();

/** CPU seconds (user + system) another process has used so far, from /proc/<pid>/stat; NaN when unreadable. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces, so fields are counted from its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds this process has used so far. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * CPU seconds all cores together have been busy so far, whoever ran on them (user, nice, system, irq, softirq,
 * and steal: time the hypervisor gave to someone else), from /proc/stat; NaN when unreadable.
 */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8")
      .split("\n")
      .find((row) => row.startsWith("cpu "));
    const ticks = line?.split(/\s+/).slice(1).map(Number);
    if (ticks === undefined) return Number.NaN;
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

function clockTicks(): number {
  const result = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const ticks = Number(result.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}
