/** Jest runs TypeScript through SWC (type-checking is `npm run build`'s job, so tests start fast). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 120_000,
  // Temporal's native runtime keeps handles open until the process exits; each file cleans up what it owns.
  forceExit: true,
};
