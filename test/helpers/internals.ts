import { TEST_SECRET } from "./server";

/** Stack frames, error class names, file paths, errno codes, internal errors: none may reach a client. */
const INTERNAL_TEXT = [
  /\bat \S+ \(/,
  /:\d+:\d+\)/,
  /(?<!Syntax )\bError: /,
  /\b[A-Z]\w*Error\b/,
  /node_modules|\/work\/|\/src\/|\.[cm]?[jt]s\b/,
  /\bE(?:CONN\w+|PIPE|ADDR\w+|TIMEDOUT)\b/,
  /Maximum call stack|Internal server error|INTERNAL_SERVER_ERROR/i,
];

/** Asserts that `text`, something a client was sent, holds nothing internal and not the signing secret. */
export function expectNothingInternal(text: string): void {
  for (const pattern of INTERNAL_TEXT) expect(text).not.toMatch(pattern);
  expect(text).not.toContain(TEST_SECRET);
}
