import { readFileSync } from "node:fs";

/** The server's memory at one moment. */
export interface MemorySample {
  rssBytes: number;
}

/**
 * RSS from /proc/<pid>/status (VmRSS), which the kernel keeps exact, falling back to the server's own
 * process_resident_memory_bytes where there is no /proc.
 */
export async function sampleMemory(pid: number, baseUrl: string): Promise<MemorySample> {
  const rssBytes =
    procRssBytes(pid) ?? metricValue(await scrapeMetrics(baseUrl), "sessionql_process_resident_memory_bytes");
  if (rssBytes === undefined) throw new Error(`no RSS for pid ${pid}: neither /proc nor /metrics has it`);
  return { rssBytes };
}

/** The text of GET /metrics. */
export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}

/** The sum of every series of a metric (all label sets), or undefined when it has none. */
export function metricValue(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      total = (total ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

function procRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}
