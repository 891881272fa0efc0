/**
 * The fuzz suite logs schemathesis's summary into CI's output. CI reads a pytest-shaped closing line there
 * ("===== 2 warnings in 65.08s =====") as a runner that executed no test, so the logged summary must carry none.
 */
import { printableSummary } from './schemathesis';

const output = [
  'collected operations',
  'SUMMARY ====================================',
  '',
  'Test cases:',
  '  2960 generated, 2960 passed',
  '',
  '============================= 2 warnings in 65.08s =============================',
  '',
].join('\n');

test('the logged summary keeps its figures and drops the pytest-shaped banners', () => {
  const printed = printableSummary(output);
  expect(printed).toContain('2960 generated, 2960 passed');
  expect(printed).toContain('(2 warnings, 65.08s)');
  expect(printed).not.toMatch(/={3,}/);
  expect(printed).not.toMatch(/\d+ (passed|failed|warnings?|errors?)[^\n]* in [\d.]+s/);
  expect(printed.startsWith('(SUMMARY)')).toBe(true);
});
