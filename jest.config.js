/** Jest runs TypeScript through SWC (type-checking is `npm run build`'s job, so tests start fast). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }],
    // PGlite loads Node built-ins with dynamic import(), which Jest's vm rejects; see the transform.
    '[\\\\/]@electric-sql[\\\\/]pglite[\\\\/]dist[\\\\/].+\\.cjs$': '<rootDir>/test/helpers/jest-pglite-transform.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!@electric-sql/pglite/)'],
  testTimeout: 120_000,
  // Temporal's native runtime keeps handles open until the process exits; each file cleans up what it owns.
  forceExit: true,
};
