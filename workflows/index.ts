/** The worker's workflowsPath: every workflow type the engine runs. */
export * from './booking';
export * from './conversation';
export * from './webhook-delivery';
