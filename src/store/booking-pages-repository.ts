/** Booking pages: where customers book; each has one owner, a booking mode and Salesforce settings. */
import {
  BOOKING_PAGE_ID_PREFIX,
  type BookingMode,
  type BookingPageSnapshot,
  type SalesforceSettings,
} from '../shared/booking-contract';
import type { Queryable } from './db';
import { newObjectId } from './ids';
import { paginate, type Page, type PageRequest } from './pagination';
import { FOREIGN_KEY_VIOLATION, InvalidReferenceError, NotFoundError, sqlState } from './repository-errors';

/** A stored booking page. */
export interface BookingPage {
  id: string;
  name: string;
  ownerUserId: string;
  mode: BookingMode;
  salesforce: SalesforceSettings;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewBookingPage {
  name: string;
  ownerUserId: string;
  mode: BookingMode;
  /** Missing settings take DEFAULT_SALESFORCE_SETTINGS. */
  salesforce?: Partial<SalesforceSettings>;
}

export interface BookingPagePatch {
  name?: string;
  ownerUserId?: string;
  mode?: BookingMode;
  /** Merged into the current settings: fields left out keep their value. */
  salesforce?: Partial<SalesforceSettings>;
}

/**
 * A new page is not connected to Salesforce; once connected it creates an Activity Event (the connector's
 * recommended default), relates it to a Lead and creates the Lead when none matches.
 */
export const DEFAULT_SALESFORCE_SETTINGS: Readonly<SalesforceSettings> = Object.freeze({
  connected: false,
  create_activity_event: true,
  relate_to: 'lead',
  create_missing_record: true,
});

interface BookingPageRow {
  id: string;
  name: string;
  owner_user_id: string;
  mode: BookingMode;
  salesforce: SalesforceSettings;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, owner_user_id, mode, salesforce, created_at, updated_at';

function fromRow(r: BookingPageRow): BookingPage {
  return {
    id: r.id,
    name: r.name,
    ownerUserId: r.owner_user_id,
    mode: r.mode,
    salesforce: { ...r.salesforce },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Only the four known settings, so stray keys never reach the jsonb column. */
function pickSalesforce(s: Partial<SalesforceSettings>): Partial<SalesforceSettings> {
  const out: Partial<SalesforceSettings> = {};
  if (s.connected !== undefined) out.connected = s.connected;
  if (s.create_activity_event !== undefined) out.create_activity_event = s.create_activity_event;
  if (s.relate_to !== undefined) out.relate_to = s.relate_to;
  if (s.create_missing_record !== undefined) out.create_missing_record = s.create_missing_record;
  return out;
}

function mapOwnerMissing(err: unknown, ownerUserId: string | undefined): unknown {
  if (sqlState(err).code === FOREIGN_KEY_VIOLATION) {
    return new InvalidReferenceError(`No such user: '${ownerUserId ?? ''}'`, 'owner_user_id');
  }
  return err;
}

/** What a booking workflow is given about its page. */
export function toSnapshot(page: BookingPage): BookingPageSnapshot {
  return { id: page.id, name: page.name, mode: page.mode, owner_user_id: page.ownerUserId, salesforce: { ...page.salesforce } };
}

/** Booking pages repository over any Queryable (the Db or one transaction). */
export function createBookingPagesRepository(db: Queryable) {
  return {
    /** Inserts a page; an owner that does not exist is an InvalidReferenceError on `owner_user_id`. */
    async create(input: NewBookingPage): Promise<BookingPage> {
      const salesforce: SalesforceSettings = { ...DEFAULT_SALESFORCE_SETTINGS, ...pickSalesforce(input.salesforce ?? {}) };
      try {
        const r = await db.query<BookingPageRow>(
          `INSERT INTO booking_pages (id, name, owner_user_id, mode, salesforce)
           VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING ${COLUMNS}`,
          [newObjectId(BOOKING_PAGE_ID_PREFIX), input.name, input.ownerUserId, input.mode, JSON.stringify(salesforce)],
        );
        return fromRow(r.rows[0]);
      } catch (err) {
        throw mapOwnerMissing(err, input.ownerUserId);
      }
    },

    /** The page, or undefined. */
    async find(id: string): Promise<BookingPage | undefined> {
      const r = await db.query<BookingPageRow>(`SELECT ${COLUMNS} FROM booking_pages WHERE id = $1`, [id]);
      return r.rows[0] ? fromRow(r.rows[0]) : undefined;
    },

    /** The page, or a NotFoundError. */
    async get(id: string): Promise<BookingPage> {
      const p = await this.find(id);
      if (!p) throw new NotFoundError('booking page', id);
      return p;
    },

    /** Newest first; see pagination.ts for the cursors. */
    async list(req: PageRequest): Promise<Page<BookingPage>> {
      const page = await paginate<BookingPageRow>(db, { table: 'booking_pages', columns: COLUMNS, entity: 'booking page' }, req);
      return { data: page.data.map(fromRow), hasMore: page.hasMore };
    },

    /** Changes the given fields in one statement; Salesforce settings are merged, not replaced. */
    async update(id: string, patch: BookingPagePatch): Promise<BookingPage> {
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (column: string, value: unknown, cast = '') => {
        params.push(value);
        sets.push(`${column} = ${column === 'salesforce' ? 'salesforce || ' : ''}$${params.length}${cast}`);
      };
      if (patch.name !== undefined) set('name', patch.name);
      if (patch.ownerUserId !== undefined) set('owner_user_id', patch.ownerUserId);
      if (patch.mode !== undefined) set('mode', patch.mode);
      if (patch.salesforce !== undefined) set('salesforce', JSON.stringify(pickSalesforce(patch.salesforce)), '::jsonb');
      if (sets.length === 0) return this.get(id);
      try {
        const r = await db.query<BookingPageRow>(
          `UPDATE booking_pages SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          params,
        );
        if (!r.rows[0]) throw new NotFoundError('booking page', id);
        return fromRow(r.rows[0]);
      } catch (err) {
        throw mapOwnerMissing(err, patch.ownerUserId);
      }
    },

    /** Deletes the page; bookings already made keep the snapshot they were started with. */
    async delete(id: string): Promise<void> {
      const r = await db.query('DELETE FROM booking_pages WHERE id = $1', [id]);
      if (r.rowCount === 0) throw new NotFoundError('booking page', id);
    },

    /** Pages a user owns, newest first (all of them: an owner has few). */
    async listByOwner(ownerUserId: string): Promise<BookingPage[]> {
      const r = await db.query<BookingPageRow>(`SELECT ${COLUMNS} FROM booking_pages WHERE owner_user_id = $1 ORDER BY seq DESC`, [ownerUserId]);
      return r.rows.map(fromRow);
    },
  };
}

export type BookingPagesRepository = ReturnType<typeof createBookingPagesRepository>;
