import { resolve } from "node:path";

/** NODE_OPTIONS for a sessionql process whose full GCs the soak reads from its output. */
export const TRACE_GC_NODE_OPTIONS = `--require "${resolve(__dirname, "trace-gc.cjs")}"`;

// [pid:isolate]  5123 ms: Mark-Compact 245.9 (280.0) -> 101.9 (290.4) MB, … (V8's "MB" are MiB)
const FULL_GC = /: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/g;

/** The live heap (MiB) left by each full GC in `output`, in order. */
export function fullGcHeapsMiB(output: string): number[] {
  return [...output.matchAll(FULL_GC)].map((match) => Number(match[1]));
}

/**
 * The least heap a full GC left in the first and in the second half of a window: the floor under the sawtooth
 * of in-flight garbage. A leak raises it; V8 growing its heap to match a high allocation rate does not.
 */
export function heapFloorsMiB(heaps: number[]): { first: number; second: number } | undefined {
  if (heaps.length < 2) return undefined;
  const middle = Math.floor(heaps.length / 2);
  return { first: Math.min(...heaps.slice(0, middle)), second: Math.min(...heaps.slice(middle)) };
}
