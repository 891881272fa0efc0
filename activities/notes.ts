/** Local activities that only record: they make workflow decisions visible in history, logs and metrics. */
import { log } from '@temporalio/activity';
import type { NoteActivities } from '../src/shared/dispatch-contract';
import { ignoredSignalLabels, workerMetrics } from '../src/observability/worker-metrics';

export function createNoteActivities(): NoteActivities {
  return {
    async noteIgnoredSignal({ workflowId, signal, reason }) {
      log.warn('signal ignored by workflow', { workflowId, signal, reason });
      workerMetrics().ignoredSignals.inc(ignoredSignalLabels(signal, reason));
    },
  };
}
