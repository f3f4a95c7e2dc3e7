import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`) by self time: the top functions, the same time grouped by
 * package, and grouped again with node's internals and native code charged to the package that called them.
 * usage: node -r @swc-node/register bench/profile-summary.ts <file.cpuprofile> [--top 15]
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = "(idle)";
const NODE_INTERNALS = "node internals";
const NATIVE = "(native)";

/** Microseconds of self time per profile node. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const byNode = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i, so it belongs to the sample before it.
  for (let i = 0; i < profile.samples.length; i++) {
    const node = profile.samples[i] as number;
    byNode.set(node, (byNode.get(node) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return byNode;
}

/** Where a frame's code lives: a package under node_modules, node's internals, sessionql's own code, or V8. */
function packageOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : NATIVE;
  if (url.startsWith("node:")) return NODE_INTERNALS;
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match?.[1] !== undefined) return match[1];
  if (url.includes("/dist/") || url.includes("/src/")) return "sessionql";
  return url;
}

/** The package a node's self time is charged to: its own, or for node internals and native code, its caller's. */
function chargedPackages(profile: CpuProfile): Map<number, string> {
  const parents = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parents.set(child, node);
  }
  const charged = new Map<number, string>();
  for (const node of profile.nodes) {
    let owner: ProfileNode | undefined = node;
    while (owner !== undefined && [NODE_INTERNALS, NATIVE].includes(packageOf(owner.callFrame))) {
      owner = parents.get(owner.id);
    }
    const pkg = owner === undefined ? packageOf(node.callFrame) : packageOf(owner.callFrame);
    charged.set(node.id, pkg === "(root)" ? packageOf(node.callFrame) : pkg);
  }
  return charged;
}

function label(frame: ProfileNode["callFrame"]): string {
  const name = frame.functionName || "(anonymous)";
  if (frame.url === "") return name;
  const file = frame.url.replace(/^file:\/\//, "").replace(/^.*node_modules\//, "");
  return `${name}  ${file.replace(/^.*\/(dist|src)\//, "$1/")}:${frame.lineNumber + 1}`;
}

function add(totals: Map<string, number>, key: string, micros: number): void {
  totals.set(key, (totals.get(key) ?? 0) + micros);
}

function table(title: string, totals: Map<string, number>, busy: number, top: number): string {
  const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = rows.map(([name, micros]) => {
    const ms = (micros / 1000).toFixed(0).padStart(8);
    return `${ms} ms ${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${name}`;
  });
  return [title, "    self        %  (of busy time)", ...lines, ""].join("\n");
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "15" } },
  });
  const file = positionals[0];
  if (file === undefined) {
    console.error("usage: node -r @swc-node/register bench/profile-summary.ts <file.cpuprofile> [--top 15]");
    process.exit(2);
  }
  const top = Number(values.top);
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const charged = chargedPackages(profile);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byCaller = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, micros] of selfTimes(profile)) {
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined) continue;
    total += micros;
    if (frame.functionName === IDLE) {
      idle += micros;
      continue;
    }
    add(byFunction, label(frame), micros);
    add(byPackage, packageOf(frame), micros);
    add(byCaller, charged.get(id) ?? packageOf(frame), micros);
  }
  const busy = total - idle;
  const seconds = (micros: number) => (micros / 1e6).toFixed(1);
  console.log(`${file}: ${seconds(total)} s sampled, ${seconds(busy)} s busy, ${seconds(idle)} s idle\n`);
  console.log(table(`top ${top} functions by self time`, byFunction, busy, top));
  console.log(table("self time by package", byPackage, busy, top));
  console.log(
    table(
      "self time by package, node internals and native code charged to their caller",
      byCaller,
      busy,
      top,
    ),
  );
}

main();
