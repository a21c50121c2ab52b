// Tests are TypeScript (ESM syntax) compiled to CommonJS by swc; types are checked separately by tsc.
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.(t|j|mj)s$": [
      "@swc/jest",
      { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
    ],
  },
  // ESM-only packages are transformed too.
  transformIgnorePatterns: ["/node_modules/(?!(@noble|esptool-js|@hpke|secure-password-utilities)/)"],
  testEnvironmentOptions: { customExportConditions: ["node", "require", "default"] },
  moduleFileExtensions: ["ts", "js", "mjs", "cjs", "json", "node"],
  testTimeout: 60000,
};
