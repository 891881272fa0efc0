/** Pure webhook rules: triggers, envelope, signature formats, Retry-After, URL and address policy. */
export * from './events';
export * from './envelope';
export * from './signature';
export * from './retry-after';
export * from './address-policy';
export * from './url';
export * from './reasons';
export * from './handoff';
