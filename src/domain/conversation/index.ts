/** The conversation state machine (pure): state, transition and the deadline of the silence timer. */
export * from './transition';
