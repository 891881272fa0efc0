/**
 * Imported first by each entry point (src/main.ts, src/worker.ts, src/server.ts) so that, when tracing is on, the
 * instrumentations are in place before node:http and pg are loaded. Off (no OTEL_EXPORTER_OTLP_ENDPOINT), it loads
 * nothing but ./tracing.ts. The default `service.name` names the entry point.
 */
import * as path from 'node:path';
import { startTracing } from './tracing';

const SERVICE_NAMES: Record<string, string> = { main: 'booking-engine', worker: 'booking-worker', server: 'booking-api' };
const entry = require.main ? path.basename(require.main.filename).replace(/\.[cm]?[jt]s$/, '') : '';
startTracing(SERVICE_NAMES[entry] ?? 'booking-engine');
