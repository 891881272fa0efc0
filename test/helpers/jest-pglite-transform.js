/**
 * Jest transform for PGlite's CommonJS build. Jest runs modules inside a vm context where a dynamic
 * `import()` throws unless Node runs with --experimental-vm-modules; PGlite loads Node built-ins
 * (fs/promises, module, zlib, …) that way. Rewriting those imports to require() lets plain `jest` run it.
 */
const { createHash } = require('node:crypto');
const { builtinModules } = require('node:module');

const BUILTINS = new Set(builtinModules);
const VERSION = '2';

module.exports = {
  process(source) {
    const code = source.replace(/\bimport\((["'])([^"']+)\1\)/g, (whole, quote, name) =>
      BUILTINS.has(name.replace(/^node:/, '')) ? `Promise.resolve().then(() => __pgliteNodeRequire(${quote}${name}${quote}))` : whole,
    );
    // Emscripten's glue declares its own `var require` (hoisted, undefined until set): keep the module's.
    return { code: `var __pgliteNodeRequire = require;${code}` };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update(VERSION).update('\0').update(filename).update('\0').update(source).digest('hex');
  },
};
