/** Ids and secrets of subscriptions and deliveries. */
import { createHash, randomBytes } from 'node:crypto';

/** A fresh subscription id. */
export function newSubscriptionId(): string {
  return `WHK-${randomBytes(12).toString('hex')}`;
}

/** A fresh 32-lowercase-hex secret. */
export function newSecret(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The delivery id of an event to a subscription, derived from both so a retried routeEvent activity
 * inserts and starts nothing twice (the id is also the delivery workflow's id).
 */
export function deliveryIdFor(eventId: string, subscriptionId: string): string {
  return `DLVR-${createHash('sha256').update(`${eventId}\u0000${subscriptionId}`).digest('hex').slice(0, 32)}`;
}

/** A fresh delivery id for a redelivery requested through the API (each request is a new delivery). */
export function newDeliveryId(): string {
  return `DLVR-${randomBytes(16).toString('hex')}`;
}
