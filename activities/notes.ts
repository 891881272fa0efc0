/** Local activities that only record: they make workflow decisions visible in history and logs. */
import { log } from '@temporalio/activity';
import type { NoteActivities } from '../src/shared/dispatch-contract';

export function createNoteActivities(): NoteActivities {
  return {
    async noteIgnoredSignal({ workflowId, signal, reason }) {
      log.warn('signal ignored by workflow', { workflowId, signal, reason });
    },
  };
}
