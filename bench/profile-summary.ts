/**
 * Prints the functions with the most self time in a V8 CPU profile (from `npm run bench -- --profile`, which
 * writes the engine's profile to bench/results/profiles/). Usage: npx tsx bench/profile-summary.ts <file>.
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const top = Number(process.argv[3] ?? 25);
const counts = new Map<number, number>();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const byFn = new Map<string, number>();
for (const n of profile.nodes) {
  const c = counts.get(n.id) ?? 0;
  if (!c) continue;
  const where = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/main\//, '');
  const key = `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + c);
}
const total = profile.samples.length;
for (const [k, c] of [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${((100 * c) / total).toFixed(1).padStart(5)} %  ${k}\n`);
}
