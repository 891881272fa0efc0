// ESLint 9 flat config. TypeScript gets the recommended rules plus type-aware checks (floating promises lose
// errors silently in workflows and request handlers); workflow and domain code must stay deterministic, so Node
// built-ins, I/O libraries and value imports of activities are banned there.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];
const IO_LIBRARIES = ['pg', 'fastify', 'undici', 'jsforce', '@electric-sql/pglite', 'pino'];

// Globals of the few plain-JS files (config files, scripts/*.mjs); TypeScript files get theirs from @types/node.
const NODE_GLOBALS = Object.fromEntries(
  [
    'process',
    'console',
    'require',
    'module',
    '__dirname',
    '__filename',
    'Buffer',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'URL',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist.*/', '.data/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: NODE_GLOBALS },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Deterministic code: replayed by the workflow sandbox or pure by design (time comes in as an argument).
    files: ['workflows/**/*.ts', 'src/domain/**/*.ts', 'test/**/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...NODE_BUILTINS, ...IO_LIBRARIES].map((name) => ({
            name,
            message: 'Workflow and domain code must be deterministic: no Node built-ins or I/O libraries.',
          })),
          patterns: [
            {
              group: ['node:*', ...NODE_BUILTINS.map((m) => `${m}/*`), ...IO_LIBRARIES.map((m) => `${m}/*`), '@fastify/*'],
              message: 'Workflow and domain code must be deterministic: no Node built-ins or I/O libraries.',
            },
            {
              // Configuration reads the environment and the store does I/O: workflows get what they need as input.
              group: ['**/config', '**/store', '**/store/*'],
              message: 'Workflow and domain code gets configuration and data through its input, not from src/config or the store.',
            },
            {
              group: ['**/activities', '**/activities/*', '**/activities/**'],
              allowTypeImports: true,
              message: 'Import activities as types only (`import type`) and call them through proxyActivities.',
            },
          ],
        },
      ],
    },
  },
);
