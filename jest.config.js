/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  setupFiles: ["<rootDir>/test/setup.ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: {
          parser: { syntax: "typescript", decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: "es2022",
        },
        module: { type: "commonjs" },
      },
    ],
  },
  testTimeout: 20000,
  // The examples import sessionql by its package name, as an application does; here that is the source tree.
  moduleNameMapper: {
    "^sessionql$": "<rootDir>/src/index.ts",
    "^sessionql/client$": "<rootDir>/src/client/index.ts",
  },
};
