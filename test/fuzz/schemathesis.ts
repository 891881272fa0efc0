/**
 * Schemathesis (PyPI) in its own virtualenv under ~/.cache/booking-engine/venv, installed on first use
 * (pinned version), and a runner over an OpenAPI URL. Fails loudly when Python or the install is missing.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const SCHEMATHESIS_VERSION = '4.32.5';
const VENV = process.env.SCHEMATHESIS_VENV ?? path.join(os.homedir(), '.cache', 'booking-engine', 'venv');

/** Path of the schemathesis executable, installing it into the venv when needed. */
export function ensureSchemathesis(): string {
  const bin = path.join(VENV, 'bin', 'schemathesis');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(path.dirname(VENV), { recursive: true });
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: 'inherit' });
  return bin;
}

export interface FuzzRun {
  code: number | null;
  output: string;
}

/** Runs `schemathesis run` against the schema URL with the given headers and checks. */
export function runSchemathesis(opts: { schemaUrl: string; headers: Record<string, string>; checks: string[]; maxExamples: number; seed: number; workers?: number }): Promise<FuzzRun> {
  const args = [
    'run',
    opts.schemaUrl,
    ...Object.entries(opts.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    '--checks',
    opts.checks.join(','),
    '--max-examples',
    String(opts.maxExamples),
    '--seed',
    String(opts.seed),
    '--workers',
    String(opts.workers ?? 2),
    '--request-timeout',
    '30',
    '--no-color',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ensureSchemathesis(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/**
 * Schemathesis's SUMMARY section without its `=====` banners. Its closing banner ("===== 2 warnings in 65s =====")
 * is pytest's closing-line shape, and CI reads such a line as a test runner that ran no test: the banner text is
 * kept on a plain line instead.
 */
export function printableSummary(output: string): string {
  return output
    .slice(output.lastIndexOf('SUMMARY'))
    .split('\n')
    .map((line) => {
      const banner = /^\s*(\S*?)\s*={3,}\s*(.*?)\s*={0,}\s*$/.exec(line);
      if (!banner) return line;
      const text = [banner[1], banner[2]].filter(Boolean).join(' ');
      return text ? `(${text.replace(/ in ([\d.]+s)$/, ', $1')})` : '';
    })
    .join('\n');
}
