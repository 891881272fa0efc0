/** The store's public surface: open the database, then build repositories over it (or over a transaction). */
export type { Db, Queryable, QueryResult } from './db';
export { openDb, openDbFromUrl, openPGliteDb, openMemoryDb, type OpenedDb } from './open-db';
export { migrate, listMigrations, MIGRATIONS_DIR } from './migrate';
export { StoreError, NotFoundError, ConflictError, InvalidReferenceError } from './repository-errors';
export type { Page, PageRequest } from './pagination';
export { newObjectId } from './ids';
export { createUsersRepository, toUserSnapshot, type User, type NewUser, type UserPatch, type UsersRepository } from './users-repository';
export {
  createBookingPagesRepository,
  toSnapshot,
  DEFAULT_SALESFORCE_SETTINGS,
  type BookingPage,
  type NewBookingPage,
  type BookingPagePatch,
  type BookingPagesRepository,
} from './booking-pages-repository';
export { createIdempotencyRepository, type ClaimResult, type IdempotencyRepository } from './idempotency-repository';
