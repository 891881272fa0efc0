/** Why a delivery stopped or a subscription was disabled: stable codes stored and shown by the API. */
export const STOP_REASON = {
  /** The endpoint answered 410 Gone. Disables the subscription. */
  endpointGone: 'endpoint_gone',
  /** 72 hours of retries ran out. Disables the subscription. */
  retriesExhausted: 'retries_exhausted',
  /** The subscription was disabled or deleted while the delivery was pending. */
  subscriptionInactive: 'subscription_inactive',
  /** The SSRF guard refused the target address. */
  forbiddenTarget: 'forbidden_target',
  /** Any other permanent failure. */
  deliveryError: 'delivery_error',
  /** A test send that was not accepted: test sends are never retried. */
  testNotRetried: 'test_not_retried',
  /** Disabled through the API. */
  disabledByRequest: 'disabled_by_request',
} as const;

export type StopReason = (typeof STOP_REASON)[keyof typeof STOP_REASON];
