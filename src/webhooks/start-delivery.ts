/** Starts one delivery's workflow; shared by event routing and the API's redeliver/recover. */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DeliveryHandoff, DeliveryInput, WebhookEnvelope } from '../shared/dispatch-contract';
import type { webhookDeliveryWorkflow } from '../../workflows/webhook-delivery';

/** The delivery workflow's registered name (the function name in workflows/webhook-delivery.ts). */
export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDeliveryWorkflow';

export interface StartDeliveryInput {
  deliveryId: string;
  subscription: { id: string; name: string; url: string };
  envelope: WebhookEnvelope;
  /** Set for a redelivery: the delivery it repeats. */
  redeliveryOf?: string | null;
  /** Set by routing when it made the first attempt(s) already. */
  handoff?: DeliveryHandoff;
}

/**
 * Starts the workflow whose id is the delivery id. A second start of the same delivery is a no-op
 * (REJECT_DUPLICATE plus ignoring "already started"), which makes callers safe to retry.
 * Returns false when it was already started.
 */
export async function startDeliveryWorkflow(client: Client, taskQueue: string, d: StartDeliveryInput): Promise<boolean> {
  const input: DeliveryInput = { deliveryId: d.deliveryId, subscriptionId: d.subscription.id, envelope: d.envelope, ...(d.handoff ? { handoff: d.handoff } : {}) };
  let host = d.subscription.url;
  try {
    host = new URL(d.subscription.url).host;
  } catch {
    // Keep the raw text; the summary is only for people.
  }
  try {
    await client.workflow.start<typeof webhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW, {
      workflowId: d.deliveryId,
      taskQueue,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `Webhook ${d.envelope.type} ${d.envelope.id} → ${d.subscription.name}`,
      staticDetails: [
        `**Subscription** ${d.subscription.name} (${d.subscription.id}), host ${host}`,
        `**Event** ${d.envelope.type} ${d.envelope.id}, created ${d.envelope.creation_time}`,
        d.redeliveryOf ? `**Redelivery of** ${d.redeliveryOf}` : `**Delivery** ${d.deliveryId}`,
        ...(d.handoff ? [`**Continues after** ${d.handoff.attemptsMade} attempt(s) made when the event was routed (first at ${d.handoff.firstAttemptAt})`] : []),
      ].join('\n\n'),
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
