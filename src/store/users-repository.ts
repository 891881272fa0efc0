/** Users: the people who own booking pages and bookings. */
import { USER_ID_PREFIX, type UserSnapshot } from '../shared/booking-contract';
import type { Queryable } from './db';
import { newObjectId } from './ids';
import { paginate, type Page, type PageRequest } from './pagination';
import { ConflictError, FOREIGN_KEY_VIOLATION, NotFoundError, UNIQUE_VIOLATION, sqlState } from './repository-errors';

/** A stored user. */
export interface User {
  id: string;
  name: string;
  email: string;
  /** IANA zone. */
  timezone: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  name: string;
  email: string;
  timezone: string;
}

export type UserPatch = Partial<NewUser>;

interface UserRow {
  id: string;
  name: string;
  email: string;
  timezone: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, email, timezone, created_at, updated_at';

function fromRow(r: UserRow): User {
  return { id: r.id, name: r.name, email: r.email, timezone: r.timezone, createdAt: r.created_at, updatedAt: r.updated_at };
}

function emailTaken(email: string): ConflictError {
  return new ConflictError(`A user with email '${email}' already exists`, 'email');
}

/** The user as a booking records it (workflow input, reassignment). */
export function toUserSnapshot(u: User): UserSnapshot {
  return { id: u.id, name: u.name, email: u.email, timezone: u.timezone };
}

/** Users repository over any Queryable (the Db or one transaction). */
export function createUsersRepository(db: Queryable) {
  return {
    /** Inserts a user; an email already in use (case-insensitive) is a ConflictError on `email`. */
    async create(input: NewUser): Promise<User> {
      try {
        const r = await db.query<UserRow>(
          `INSERT INTO users (id, name, email, timezone) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
          [newObjectId(USER_ID_PREFIX), input.name, input.email, input.timezone],
        );
        return fromRow(r.rows[0]);
      } catch (err) {
        if (sqlState(err).code === UNIQUE_VIOLATION) throw emailTaken(input.email);
        throw err;
      }
    },

    /** The user, or undefined. */
    async find(id: string): Promise<User | undefined> {
      const r = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
      return r.rows[0] ? fromRow(r.rows[0]) : undefined;
    },

    /** The user, or a NotFoundError. */
    async get(id: string): Promise<User> {
      const u = await this.find(id);
      if (!u) throw new NotFoundError('user', id);
      return u;
    },

    /** Newest first; see pagination.ts for the cursors. */
    async list(req: PageRequest): Promise<Page<User>> {
      const page = await paginate<UserRow>(db, { table: 'users', columns: COLUMNS, entity: 'user' }, req);
      return { data: page.data.map(fromRow), hasMore: page.hasMore };
    },

    /** Changes the given fields; an empty patch returns the user unchanged. */
    async update(id: string, patch: UserPatch): Promise<User> {
      const sets: string[] = [];
      const params: unknown[] = [id];
      for (const key of ['name', 'email', 'timezone'] as const) {
        if (patch[key] !== undefined) {
          params.push(patch[key]);
          sets.push(`${key} = $${params.length}`);
        }
      }
      if (sets.length === 0) return this.get(id);
      try {
        const r = await db.query<UserRow>(
          `UPDATE users SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          params,
        );
        if (!r.rows[0]) throw new NotFoundError('user', id);
        return fromRow(r.rows[0]);
      } catch (err) {
        if (sqlState(err).code === UNIQUE_VIOLATION) throw emailTaken(patch.email ?? '');
        throw err;
      }
    },

    /** Deletes the user; one who still owns booking pages is a ConflictError (reassign or delete them first). */
    async delete(id: string): Promise<void> {
      try {
        const r = await db.query('DELETE FROM users WHERE id = $1', [id]);
        if (r.rowCount === 0) throw new NotFoundError('user', id);
      } catch (err) {
        if (sqlState(err).code === FOREIGN_KEY_VIOLATION) {
          throw new ConflictError(`User '${id}' still owns booking pages; delete them or give them another owner first`, 'id');
        }
        throw err;
      }
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
