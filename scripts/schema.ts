import "reflect-metadata";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { printSessionSchema } from "../src/graphql/schema";

/** `write` regenerates schema.graphql from the resolvers; `check` fails when the committed file is stale. */
const schemaFile = join(__dirname, "..", "schema.graphql");
const printed = printSessionSchema();
if (process.argv[2] === "write") {
  writeFileSync(schemaFile, printed);
  console.log(`wrote ${schemaFile}`);
} else {
  let committed = "";
  try {
    committed = readFileSync(schemaFile, "utf8");
  } catch {}
  if (committed !== printed) {
    console.error(
      "schema.graphql is out of date with the resolvers: run `npm run schema:write` and commit it",
    );
    process.exit(1);
  }
  console.log("schema.graphql matches the resolvers");
}
