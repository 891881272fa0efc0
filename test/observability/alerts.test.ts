/**
 * The alerting rules (deploy/prometheus/alerts.yml) against their unit tests (alerts.test.yml), with Debian's
 * promtool: each alert fires when it should, not before and not after, with its labels and rendered annotations.
 * promtool comes with `apt-get install prometheus`; a missing one fails the test rather than skipping it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const DIR = path.join(__dirname, '..', '..', 'deploy', 'prometheus');

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    throw new Error(`promtool could not run (${r.error.message}): install it with \`apt-get install prometheus\``);
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('the rules file is valid', () => {
  const r = promtool(['check', 'rules', 'alerts.yml']);
  expect(r.output).toContain('SUCCESS');
  expect(r.status).toBe(0);
});

test('every alert fires as its unit tests say', () => {
  const r = promtool(['test', 'rules', 'alerts.test.yml']);
  if (r.status !== 0) throw new Error(`promtool test rules failed:\n${r.output}`);
  expect(r.output).toContain('SUCCESS');
});

test('the example scrape configuration is valid and loads the rules', () => {
  const r = promtool(['check', 'config', 'prometheus.yml']);
  if (r.status !== 0) throw new Error(`promtool check config failed:\n${r.output}`);
  expect(r.output).toMatch(/SUCCESS: 10 rules found/);
});
