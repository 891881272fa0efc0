/** Types shared by route plugins: the Fastify instance with TypeBox typing and the decorated deps. */
import type { FastifyInstance, FastifyBaseLogger, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../store/db';

/** What the API needs from the outside world; tests pass their own. */
export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  /**
   * Booking starts ask for eager workflow start (`requestEagerStart`). Only where `temporal` runs on the worker's
   * NativeConnection in the same process (npm start with TEMPORAL_EAGER_WORKFLOW_START); the SDK refuses it otherwise.
   */
  eagerWorkflowStart?: boolean;
}

export type FastifyTypebox = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression<RawServerDefault>,
  RawReplyDefaultExpression<RawServerDefault>,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}
