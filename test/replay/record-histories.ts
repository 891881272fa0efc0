/**
 * `npm run histories:refresh`: reruns the lifecycle scenarios (test/replay/scenarios.ts) and rewrites
 * test/replay/histories/*.json. Run it after a deliberate, versioned workflow change, review the diff, commit.
 */
import { recordHistories, HISTORIES_DIR } from './scenarios';

recordHistories()
  .then((names) => {
    process.stdout.write(`wrote ${names.length} histories to ${HISTORIES_DIR}\n`);
    process.exit(0);
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
