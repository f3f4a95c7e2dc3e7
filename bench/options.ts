import { type ParseArgsConfig, parseArgs } from "node:util";

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;
/** What parseArgs makes of `options`, --help aside. */
type Values<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>["values"];

/**
 * The command line of one of the benches: parseArgs with --help added, which prints the usage and exits 0, and
 * the checks of the values, which on a mistake print `<program>: <problem>` and the usage, and exit 2.
 */
export class CommandLine {
  constructor(
    private readonly program: string,
    private readonly usage: string,
  ) {}

  /** The values of `options` in `argv`, after answering --help. */
  parse<O extends OptionsConfig>(argv: string[], options: O): Values<O> {
    const { values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", default: false } } as OptionsConfig,
    });
    if (values.help) {
      console.log(this.usage);
      process.exit(0);
    }
    return values as Values<O>;
  }

  /** `--name`'s value as a number of at least `min`. */
  number(name: string, text: string, min: number): number {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min)
      this.fail(`--${name} must be a number ≥ ${min}, got "${text}"`);
    return value;
  }

  /** The same, rounded to a whole number. */
  whole(name: string, text: string, min: number): number {
    return Math.round(this.number(name, text, min));
  }

  /** `--name`'s comma-separated items, each one of `allowed`, in `allowed`'s order. */
  listOf<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
    const items = text.split(",").map((item) => item.trim());
    const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
    if (unknown.length > 0)
      this.fail(`--${name}: unknown ${unknown.join(", ")}; choose from ${allowed.join(",")}`);
    return allowed.filter((item) => items.includes(item));
  }

  fail(message: string): never {
    console.error(`${this.program}: ${message}\n${this.usage}`);
    process.exit(2);
  }
}
