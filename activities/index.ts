/** Every activity the worker registers, built once from the worker's dependencies. */
import type { Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { Db } from '../src/store/db';
import type { SalesforceActivities } from '../src/shared/dispatch-contract';
import { createNoteActivities } from './notes';
import { countEventWithoutWebhook, createSalesforceActivities } from './salesforce';
import { createWebhookActivities } from './webhooks';

export interface ActivityDeps {
  config: Config;
  db: Db;
  temporal: Client;
}

/** Salesforce switched off by configuration: every sync is a no-op the booking records as skipped. */
const salesforceOff: SalesforceActivities = {
  async syncActivityEvent({ event }) {
    countEventWithoutWebhook(event);
    return { outcome: 'skipped', activityEventId: null, detail: 'Salesforce connector is off (SALESFORCE_MODE=off)' };
  },
};

export function createActivities(deps: ActivityDeps) {
  return {
    ...createNoteActivities(),
    ...createWebhookActivities({ db: deps.db, config: deps.config, temporal: deps.temporal }),
    ...(deps.config.salesforce.mode === 'off' ? salesforceOff : createSalesforceActivities({ config: deps.config.salesforce })),
  };
}

export type Activities = ReturnType<typeof createActivities>;
