/**
 * Logs: pino-pretty's lines under `npm start` on a terminal (a real pseudo-terminal, through script(1)), JSON on a
 * pipe or with LOG_FORMAT=json; the correlation ids on workflow, activity and request lines. The trace ids on the
 * lines of real API and worker processes are checked by tracing.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { createLogger, usePrettyLogs } from '../../src/logging';
import { correlateMeta, idsFromActivityInput, registerRequestLogIds } from '../../src/observability/log-correlation';

const ROOT = path.join(__dirname, '..', '..');

/** What `npm start` does for its logger (src/main.ts), then one line about a booking. */
const SCRIPT = [
  "const { createLogger } = require('./src/logging');",
  "const { loadConfig } = require('./src/config');",
  "createLogger(loadConfig(), { interactive: true }).info({ bookingId: 'BKNG-0123456789abcdef' }, 'booking logged');",
].join(' ');

function run(env: NodeJS.ProcessEnv, tty: boolean): string {
  const node = `${JSON.stringify(process.execPath)} --import tsx -e ${JSON.stringify(SCRIPT)}`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LOG_FORMAT' && !k.startsWith('OTEL_')));
  const r = tty
    ? spawnSync('script', ['-qec', node, '/dev/null'], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8' })
    : spawnSync(process.execPath, ['--import', 'tsx', '-e', SCRIPT], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`);
  // eslint-disable-next-line no-control-regex -- the terminal's colours
  return r.stdout.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');
}

describe('log format', () => {
  test('npm start on a terminal: pino-pretty lines', () => {
    const out = run({}, true);
    expect(out).not.toContain('{"level"');
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: booking logged\n\s+bookingId: "BKNG-0123456789abcdef"/m);
  });

  test('npm start on a pipe, or with LOG_FORMAT=json on a terminal: JSON lines', () => {
    for (const out of [run({}, false), run({ LOG_FORMAT: 'json' }, true)]) {
      const line = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 30, msg: 'booking logged', bookingId: 'BKNG-0123456789abcdef' });
    }
  });

  test('LOG_FORMAT=pretty anywhere; auto is pretty only for the interactive entry point on a terminal', () => {
    const config = (v?: string) => loadConfig(v ? { LOG_FORMAT: v } : {});
    expect(usePrettyLogs(config(), { interactive: true, isTTY: true })).toBe(true);
    expect(usePrettyLogs(config(), { interactive: true, isTTY: false })).toBe(false);
    expect(usePrettyLogs(config(), { interactive: false, isTTY: true })).toBe(false);
    expect(usePrettyLogs(config('json'), { interactive: true, isTTY: true })).toBe(false);
    expect(usePrettyLogs(config('pretty'), { interactive: false, isTTY: false })).toBe(true);
    expect(() => config('yaml')).toThrow(/LOG_FORMAT must be one of auto, json, pretty/);

    let written = '';
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((written += c.toString('utf8')), cb()) });
    createLogger(config('pretty'), { destination: sink }).warn({ deliveryId: 'DLVR-1' }, 'pretty line');
    expect(written).toMatch(/WARN: pretty line\n\s+deliveryId: "DLVR-1"/);
  });
});

describe('correlation ids', () => {
  test('workflow and activity lines of the runtime logger get the ids their workflow id names, and runId', () => {
    expect(correlateMeta({ sdkComponent: 'workflow', workflowId: 'BKNG-abc', runId: 'run-1', eventId: 'EVT-1' })).toMatchObject({
      bookingId: 'BKNG-abc',
      runId: 'run-1',
      eventId: 'EVT-1',
    });
    expect(correlateMeta({ sdkComponent: 'activity', workflowId: 'DLVR-xyz', workflowRunId: 'run-2' })).toMatchObject({
      deliveryId: 'DLVR-xyz',
      runId: 'run-2',
    });
    expect(correlateMeta({ workflowId: 'CVR-1' })).toMatchObject({ conversationId: 'CVR-1' });
    // What the line says wins.
    expect(correlateMeta({ workflowId: 'BKNG-new', bookingId: 'BKNG-old' }).bookingId).toBe('BKNG-old');
    expect(correlateMeta(undefined)).toEqual({});
  });

  test('an activity input names its delivery, subscription, event and booking', () => {
    const envelope = { id: 'EVT-9', object: 'event', type: 'booking.scheduled', data: { id: 'BKNG-9' } };
    expect(idsFromActivityInput([{ deliveryId: 'DLVR-9', subscriptionId: 'WHK-9', envelope }])).toEqual({
      deliveryId: 'DLVR-9',
      subscriptionId: 'WHK-9',
      eventId: 'EVT-9',
      bookingId: 'BKNG-9',
    });
    expect(idsFromActivityInput([{ envelope, sourceWorkflowId: 'BKNG-9' }])).toEqual({ eventId: 'EVT-9', bookingId: 'BKNG-9' });
    expect(idsFromActivityInput([{ bookingId: 'BKNG-3', event: { id: 'EVT-3' } }])).toEqual({ bookingId: 'BKNG-3', eventId: 'EVT-3' });
    expect(idsFromActivityInput(['x'])).toEqual({});
    expect(idsFromActivityInput([])).toEqual({});
  });

  test("request lines carry the route's booking id, and the id a POST created", async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString('utf8')) as Record<string, unknown>), cb()) });
    const app = Fastify({ loggerInstance: pino({ level: 'info' }, stream) as FastifyBaseLogger });
    registerRequestLogIds(app);
    app.post('/v2/bookings', async (_req, reply) => reply.code(201).send({ id: 'BKNG-created' }));
    app.post('/v2/bookings/:id/cancel', async (req) => {
      req.log.info('canceling');
      return { id: (req.params as { id: string }).id };
    });
    app.get('/v2/webhooks/:id', async () => ({ ok: true }));
    await app.ready();
    await app.inject({ method: 'POST', url: '/v2/bookings', payload: {} });
    await app.inject({ method: 'POST', url: '/v2/bookings/BKNG-42/cancel', payload: {} });
    await app.inject({ method: 'GET', url: '/v2/webhooks/WHK-7' });
    await app.close();
    const completed = lines.filter((l) => l.msg === 'request completed');
    expect(completed.map((l) => [l.bookingId, l.subscriptionId])).toEqual([
      ['BKNG-created', undefined],
      ['BKNG-42', undefined],
      [undefined, 'WHK-7'],
    ]);
    expect(lines.find((l) => l.msg === 'canceling')).toMatchObject({ bookingId: 'BKNG-42' });
  });
});
