/**
 * A local Salesforce stand-in over real HTTP, faithful to what jsforce 3 sends and expects
 * (reference/salesforce-rest.md): the OAuth token endpoint (refresh_token and client_credentials grants),
 * SOQL queries, sObject create/retrieve/update/delete/describe for Event, Lead, Contact, Case and User,
 * Salesforce's error bodies and status codes, and the Sforce-Limit-Info header; its root URL serves an HTML page of
 * the Events, Leads and Contacts it holds (page.ts). Switches let tests expire
 * sessions, exhaust the API limit, cause an outage, inject errors and remove a custom field; every REST
 * request is logged for assertions. It holds no real data and is for development and tests only.
 */
import { createHmac, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_CUSTOM_EVENT_FIELDS,
  defaultSchema,
  idSuffix,
  isIdShape,
  makeId,
  OBJECT_TYPES,
  typeOfId,
  type FieldDef,
  type StandinObjectType,
} from './schema';
import { parseSoql, SoqlSyntaxError, type SoqlQuery, type SoqlValue } from './soql';
import { renderRecordsPage } from './page';

/** A connected app the token endpoint accepts. */
export interface StandinClient {
  clientId: string;
  clientSecret: string;
  /** The "Run As" user of the client_credentials flow; defaults to the first active user. */
  runAsUserId?: string;
}

/** A refresh token the token endpoint accepts, and the user it authorizes. */
export type StandinRefreshToken = string | { token: string; userId?: string };

/** A user of the org. */
export interface StandinUser {
  Id?: string;
  Email: string;
  IsActive?: boolean;
  Name?: string;
  Username?: string;
}

export interface StandinOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  clients: StandinClient[];
  refreshTokens?: StandinRefreshToken[];
  users: StandinUser[];
  /** Daily API request allowance shown in Sforce-Limit-Info. */
  apiLimit?: number;
  /**
   * The request logs keep this many newest entries each (default: all, which tests read). A long-running stand-in
   * (`npm start`, `npm run salesforce-standin`) sets a bound: nothing reads its logs, and unbounded they grow with
   * every Salesforce request.
   */
  logLimit?: number;
}

/** The request logs' bound in a long-running stand-in (`npm start`, `npm run salesforce-standin`). */
export const STANDIN_LOG_LIMIT = 1000;

/** A stored record: field name → value, always with Id. */
export type StandinRecord = Record<string, unknown> & { Id: string };

/** One logged REST request. */
export interface StandinRequestLog {
  method: string;
  path: string;
  /** The decoded SOQL of a query. */
  soql: string | null;
  body: unknown;
  status: number;
}

/** One logged token request (without any secret). */
export interface StandinTokenLog {
  grantType: string;
  clientId: string | null;
  status: number;
}

/** An error Salesforce puts in a REST error body. */
interface ApiError {
  message: string;
  errorCode: string;
  fields?: string[];
}

/** The stand-in's whole state; tests may read it. */
export interface StandinState {
  orgId: string;
  records: Record<StandinObjectType, Map<string, StandinRecord>>;
  schema: Record<StandinObjectType, FieldDef[]>;
  missingFields: Record<StandinObjectType, Set<string>>;
  tokens: Map<string, { userId: string; clientId: string }>;
  requests: StandinRequestLog[];
  tokenRequests: StandinTokenLog[];
  apiUsage: number;
  apiLimit: number;
  /** Pending injected failures, consumed one per REST request. */
  failures: { status: number; error: ApiError; match?: { method?: string; pathEndsWith?: string } }[];
  outage: { status: number } | null;
  requestLimitExceeded: boolean;
}

/** Test switches. */
export interface StandinSwitches {
  /** Invalidates every access token issued so far: the next REST call with one answers 401 INVALID_SESSION_ID. */
  expireSessions(): void;
  /** While on, every REST call answers 403 REQUEST_LIMIT_EXCEEDED. */
  setRequestLimitExceeded(on: boolean): void;
  /** While on, every request (token endpoint included) answers 503 (or the given status). */
  setOutage(on: boolean | { status: number }): void;
  /**
   * The next n REST calls (after authentication) fail with this errorCode and status; with `match`, only
   * calls of that method whose path ends with `pathEndsWith` count.
   */
  failNext(n: number, errorCode: string, status?: number, message?: string, match?: { method?: string; pathEndsWith?: string }): void;
  /** Removes a field from an object, as an org without the custom field (INVALID_FIELD afterwards). */
  markFieldMissing(type: StandinObjectType, field: string): void;
  /** Puts a field removed by markFieldMissing back. */
  restoreField(type: StandinObjectType, field: string): void;
  /** Revokes a refresh token: the token endpoint answers invalid_grant for it. */
  revokeRefreshToken(token: string): void;
}

/** A running stand-in. */
export interface SalesforceStandin {
  /** Base URL, both login URL and instance URL. */
  url: string;
  state: StandinState;
  switches: StandinSwitches;
  /** Copies of the live records of a type, in creation order. */
  records(type: StandinObjectType): StandinRecord[];
  /** Inserts a record directly (not logged, not counted), e.g. an existing Lead; returns its id. */
  seed(type: StandinObjectType, fields: Record<string, unknown>): string;
  /** Every REST request so far (the newest `logLimit`). */
  readonly requests: StandinRequestLog[];
  /** Every token request so far (the newest `logLimit`). */
  readonly tokenRequests: StandinTokenLog[];
  /** Forgets the request logs. */
  clearLog(): void;
  stop(): Promise<void>;
}

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiError[],
  ) {
    super(errors[0]?.message ?? 'error');
  }
}

const fail = (status: number, errorCode: string, message: string, fields?: string[]): RestError =>
  new RestError(status, [{ message, errorCode, ...(fields ? { fields } : {}) }]);

/** Salesforce's datetime format in responses. */
function sfDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

const DAY_MS = 86_400_000;

/** Starts the stand-in; resolves once it listens. */
export async function startSalesforceStandin(options: StandinOptions): Promise<SalesforceStandin> {
  const host = options.host ?? '127.0.0.1';
  const counter = { n: 0 };
  const nextId = (type: StandinObjectType) => makeId(type, ++counter.n);
  const orgId15 = '00D5g0000000001';
  const orgId = orgId15 + idSuffix(orgId15);
  const state: StandinState = {
    orgId,
    records: { Event: new Map(), Lead: new Map(), Contact: new Map(), Case: new Map(), User: new Map() },
    schema: defaultSchema(),
    missingFields: { Event: new Set(), Lead: new Set(), Contact: new Set(), Case: new Set(), User: new Set() },
    tokens: new Map(),
    requests: [],
    tokenRequests: [],
    apiUsage: 0,
    apiLimit: options.apiLimit ?? 15_000,
    failures: [],
    outage: null,
    requestLimitExceeded: false,
  };
  const refreshTokens = new Map<string, string | undefined>();
  const logLimit = options.logLimit ?? Infinity;
  const trim = (log: unknown[]) => {
    if (log.length > logLimit) log.splice(0, log.length - logLimit);
  };
  for (const rt of options.refreshTokens ?? []) {
    if (typeof rt === 'string') refreshTokens.set(rt, undefined);
    else refreshTokens.set(rt.token, rt.userId);
  }
  let caseNumber = 1000;
  let clock = 0;
  // Strictly increasing timestamps, so ORDER BY CreatedDate follows insertion order even within one ms.
  const now = () => (clock = Math.max(clock + 1, Date.now()));

  const field = (type: StandinObjectType, name: string): FieldDef | undefined => {
    if (state.missingFields[type].has(name)) return undefined;
    return state.schema[type].find((f) => f.name.toLowerCase() === name.toLowerCase());
  };

  const findRecord = (type: StandinObjectType, id: string): StandinRecord | undefined => {
    const key = id.slice(0, 15);
    for (const rec of state.records[type].values()) if (rec.Id.slice(0, 15) === key) return rec;
    return undefined;
  };

  const insert = (type: StandinObjectType, fields: Record<string, unknown>, userId: string | null): StandinRecord => {
    const at = sfDateTime(now());
    const rec: StandinRecord = { Id: nextId(type) };
    // Like Salesforce, an unset field reads as null.
    for (const f of state.schema[type]) if (f.name !== 'Id') rec[f.name] = f.defaultValue ?? null;
    Object.assign(rec, fields, {
      Id: rec.Id,
      IsDeleted: false,
      CreatedDate: at,
      LastModifiedDate: at,
      CreatedById: userId,
      LastModifiedById: userId,
    });
    if (type !== 'User' && !rec.OwnerId) rec.OwnerId = userId;
    if (type === 'Case') rec.CaseNumber = String(++caseNumber).padStart(8, '0');
    state.records[type].set(rec.Id, rec);
    return rec;
  };

  for (const u of options.users) {
    const { Id, ...rest } = u;
    const rec = insert('User', { IsActive: true, Name: u.Email, Username: u.Email, ...rest }, null);
    if (Id) {
      state.records.User.delete(rec.Id);
      rec.Id = Id;
      state.records.User.set(Id, rec);
    }
  }

  // ---- validation of writes -------------------------------------------------------------------------

  const checkValue = (type: StandinObjectType, f: FieldDef, value: unknown): unknown => {
    if (value === null) return null;
    switch (f.type) {
      case 'string':
      case 'textarea':
      case 'email':
      case 'picklist': {
        if (typeof value !== 'string') throw fail(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of string from ${typeof value} value ${JSON.stringify(value)}`);
        if (f.length !== undefined && value.length > f.length) {
          throw fail(400, 'STRING_TOO_LONG', `${f.name}: data value too large: ${value.slice(0, 40)} (max length=${f.length})`, [f.name]);
        }
        if (f.type === 'email' && value !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
          throw fail(400, 'INVALID_EMAIL_ADDRESS', `${f.name}: invalid email address: ${value}`, [f.name]);
        }
        return value;
      }
      case 'datetime': {
        const ms = typeof value === 'string' ? Date.parse(value) : NaN;
        if (Number.isNaN(ms)) throw fail(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of datetime from VALUE_STRING value ${String(value)}`);
        return sfDateTime(ms);
      }
      case 'date':
        if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
          throw fail(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of date from VALUE_STRING value ${String(value)}`);
        }
        return value;
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          throw fail(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of int from value ${JSON.stringify(value)}`);
        }
        return value;
      case 'boolean':
        if (typeof value !== 'boolean') throw fail(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of boolean from value ${JSON.stringify(value)}`);
        return value;
      case 'reference':
      case 'id': {
        if (typeof value !== 'string' || !isIdShape(value)) {
          throw fail(400, 'MALFORMED_ID', `${f.name}: id value of incorrect type: ${String(value)}`, [f.name]);
        }
        if (!f.referenceTo) return value;
        const target = typeOfId(value);
        const rec = target && f.referenceTo.includes(target) ? findRecord(target, value) : undefined;
        if (!rec || rec.IsDeleted) throw fail(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [f.name]);
        if (target === 'User' && rec.IsActive === false) {
          throw fail(400, 'INACTIVE_OWNER_OR_USER', `operation performed with inactive user [${rec.Id}] as owner of ${type.toLowerCase()}`, [f.name]);
        }
        return rec.Id;
      }
    }
  };

  /** Checks and converts the fields of a create or update body. */
  const checkFields = (type: StandinObjectType, body: unknown): Record<string, unknown> => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw fail(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
    }
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body)) {
      if (name === 'attributes') continue;
      const f = field(type, name);
      if (!f) {
        throw fail(
          400,
          'INVALID_FIELD',
          `No such column '${name}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
          [name],
        );
      }
      if (f.writable === false || type === 'User') {
        throw fail(
          400,
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          [f.name],
        );
      }
      out[f.name] = checkValue(type, f, value);
    }
    return out;
  };

  /** Event rules on the merged record; `changed` are the fields this write sent. Mutates `rec`. */
  const applyEventRules = (rec: Record<string, unknown>, changed: Record<string, unknown>) => {
    if (changed.StartDateTime === undefined && changed.ActivityDateTime !== undefined) rec.StartDateTime = rec.ActivityDateTime;
    if (changed.StartDateTime !== undefined && changed.ActivityDateTime !== undefined && changed.StartDateTime !== changed.ActivityDateTime) {
      throw fail(400, 'FIELD_INTEGRITY_EXCEPTION', 'Due Date Time: must be equal to Start Date Time', ['ActivityDateTime']);
    }
    const start = typeof rec.StartDateTime === 'string' ? Date.parse(rec.StartDateTime) : NaN;
    if (rec.IsAllDayEvent !== true) {
      if (Number.isNaN(start)) throw fail(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [StartDateTime]', ['StartDateTime']);
      const endSent = changed.EndDateTime !== undefined && changed.EndDateTime !== null;
      const durSent = changed.DurationInMinutes !== undefined && changed.DurationInMinutes !== null;
      if (endSent && durSent) {
        const end = Date.parse(rec.EndDateTime as string);
        if (end - start !== (rec.DurationInMinutes as number) * 60_000) {
          throw fail(400, 'FIELD_INTEGRITY_EXCEPTION', 'End Date Time: does not match the Duration', ['EndDateTime']);
        }
      } else if (endSent) {
        rec.DurationInMinutes = Math.round((Date.parse(rec.EndDateTime as string) - start) / 60_000);
      } else if (durSent || typeof rec.DurationInMinutes === 'number') {
        // Duration sent, or only the start moved: the end follows the start.
        rec.EndDateTime = sfDateTime(start + (rec.DurationInMinutes as number) * 60_000);
      } else {
        throw fail(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [EndDateTime]', ['EndDateTime']);
      }
      const end = Date.parse(rec.EndDateTime as string);
      if (end < start) throw fail(400, 'FIELD_INTEGRITY_EXCEPTION', 'End Date Time: must be on or after the Start Date Time', ['EndDateTime']);
      if (end - start > 14 * DAY_MS) throw fail(400, 'FIELD_INTEGRITY_EXCEPTION', 'Event duration cannot exceed 14 days', ['EndDateTime']);
      rec.ActivityDateTime = rec.StartDateTime;
      rec.ActivityDate = (rec.StartDateTime as string).slice(0, 10);
    }
    // Object Reference: if WhoId is a Lead, WhatId must be empty.
    if (typeof rec.WhoId === 'string' && typeOfId(rec.WhoId) === 'Lead' && rec.WhatId) {
      throw fail(400, 'FIELD_INTEGRITY_EXCEPTION', 'Related To ID: an activity related to a lead cannot also be related to another record', ['WhatId']);
    }
  };

  const requiredCheck = (type: StandinObjectType, rec: Record<string, unknown>) => {
    const missing = state.schema[type].filter((f) => f.required && (rec[f.name] === undefined || rec[f.name] === null || rec[f.name] === '')).map((f) => f.name);
    if (missing.length > 0) throw fail(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
  };

  // ---- REST operations ------------------------------------------------------------------------------

  const objectType = (name: string): StandinObjectType => {
    const t = OBJECT_TYPES.find((o) => o.toLowerCase() === name.toLowerCase());
    if (!t) throw fail(404, 'NOT_FOUND', 'The requested resource does not exist');
    return t;
  };

  const withAttributes = (type: StandinObjectType, rec: StandinRecord, version: string, fields?: string[]) => {
    const out: Record<string, unknown> = { attributes: { type, url: `/services/data/v${version}/sobjects/${type}/${rec.Id}` } };
    for (const name of fields ?? state.schema[type].filter((f) => !state.missingFields[type].has(f.name)).map((f) => f.name)) {
      const f = field(type, name)!;
      out[f.name] = rec[f.name] ?? null;
    }
    return out;
  };

  const matches = (type: StandinObjectType, rec: StandinRecord, cond: SoqlQuery['where'][number]): boolean => {
    const f = field(type, cond.field)!;
    const v = rec[f.name] ?? null;
    let eq: boolean;
    if (cond.value === null) eq = v === null;
    else if (f.type === 'id' || f.type === 'reference') {
      eq = typeof v === 'string' && typeof cond.value === 'string' && v.slice(0, 15) === cond.value.slice(0, 15);
    } else if (typeof v === 'string' && typeof cond.value === 'string') eq = v.toLowerCase() === cond.value.toLowerCase();
    else eq = v === cond.value;
    return cond.op === '=' ? eq : !eq;
  };

  const compare = (a: unknown, b: unknown): number => {
    if (a === b) return 0;
    if (a === null || a === undefined) return -1; // nulls first, as SOQL's default for ASC
    if (b === null || b === undefined) return 1;
    if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0;
    return (a as number) < (b as number) ? -1 : 1;
  };

  const runQuery = (soql: string, version: string) => {
    let q: SoqlQuery;
    try {
      q = parseSoql(soql);
    } catch (err) {
      if (err instanceof SoqlSyntaxError) throw fail(400, 'MALFORMED_QUERY', err.message);
      throw err;
    }
    const type = OBJECT_TYPES.find((o) => o.toLowerCase() === q.object.toLowerCase());
    if (!type) {
      throw fail(
        400,
        'INVALID_TYPE',
        `sObject type '${q.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    for (const name of [...q.fields, ...q.where.map((w) => w.field), ...q.orderBy.map((o) => o.field)]) {
      if (!field(type, name)) {
        throw fail(
          400,
          'INVALID_FIELD',
          `No such column '${name}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      }
    }
    const all = [...state.records[type].values()].filter((r) => !r.IsDeleted && q.where.every((w) => matches(type, r, w)));
    const seq = new Map(all.map((r, i) => [r.Id, i]));
    all.sort((a, b) => {
      for (const o of q.orderBy) {
        const name = field(type, o.field)!.name;
        const c = compare(a[name], b[name]);
        if (c !== 0) return o.dir === 'ASC' ? c : -c;
      }
      return seq.get(a.Id)! - seq.get(b.Id)!;
    });
    const rows = q.limit === null ? all : all.slice(0, q.limit);
    const fieldNames = q.fields.map((n) => field(type, n)!.name);
    return { totalSize: rows.length, done: true, records: rows.map((r) => withAttributes(type, r, version, fieldNames)) };
  };

  const describeObject = (type: StandinObjectType) => ({
    name: type,
    keyPrefix: makeId(type, 0).slice(0, 3),
    createable: type !== 'User',
    updateable: type !== 'User',
    queryable: true,
    fields: state.schema[type]
      .filter((f) => !state.missingFields[type].has(f.name))
      .map((f) => ({
        name: f.name,
        type: f.type,
        length: f.length ?? 0,
        custom: f.name.endsWith('__c'),
        nillable: !f.required && f.type !== 'boolean' && f.type !== 'id',
        createable: f.writable !== false && type !== 'User',
        updateable: f.writable !== false && type !== 'User',
        referenceTo: f.referenceTo ?? [],
        defaultedOnCreate: f.defaultValue !== undefined,
      })),
  });

  type Reply = { status: number; body?: unknown };

  const rest = (method: string, parts: string[], search: URLSearchParams, body: unknown, userId: string, version: string): Reply => {
    const [resource, typeName, idOrAction, ...extra] = parts;
    if (resource === 'query' && parts.length === 1 && method === 'GET') {
      const q = search.get('q');
      if (!q) throw fail(400, 'MALFORMED_QUERY', 'A query string has to be specified');
      return { status: 200, body: runQuery(q, version) };
    }
    if (resource === 'limits' && parts.length === 1 && method === 'GET') {
      return { status: 200, body: { DailyApiRequests: { Max: state.apiLimit, Remaining: Math.max(0, state.apiLimit - state.apiUsage) } } };
    }
    if (resource !== 'sobjects' || !typeName || extra.length > 0) throw fail(404, 'NOT_FOUND', 'The requested resource does not exist');
    const type = objectType(typeName);
    if (idOrAction === undefined) {
      if (method !== 'POST') throw fail(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET,POST`);
      const fields = checkFields(type, body);
      const merged: Record<string, unknown> = { ...fields };
      for (const f of state.schema[type]) if (merged[f.name] === undefined && f.defaultValue !== undefined) merged[f.name] = f.defaultValue;
      requiredCheck(type, merged);
      if (type === 'Event') applyEventRules(merged, fields);
      const rec = insert(type, merged, userId);
      return { status: 201, body: { id: rec.Id, success: true, errors: [] } };
    }
    if (idOrAction === 'describe' && method === 'GET') return { status: 200, body: describeObject(type) };
    const rec = isIdShape(idOrAction) ? findRecord(type, idOrAction) : undefined;
    if (!rec) throw fail(404, 'NOT_FOUND', 'The requested resource does not exist');
    if (rec.IsDeleted) throw fail(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
    if (method === 'GET') {
      const wanted = search.get('fields');
      let names: string[] | undefined;
      if (wanted) {
        names = wanted.split(',').map((n) => n.trim());
        for (const n of names) if (!field(type, n)) throw fail(400, 'INVALID_FIELD', `No such column '${n}' on entity '${type}'.`, [n]);
      }
      return { status: 200, body: withAttributes(type, rec, version, names) };
    }
    if (method === 'PATCH') {
      const fields = checkFields(type, body);
      const merged: Record<string, unknown> = { ...rec, ...fields };
      requiredCheck(type, merged);
      if (type === 'Event') applyEventRules(merged, fields);
      Object.assign(rec, merged, { LastModifiedDate: sfDateTime(now()), LastModifiedById: userId });
      return { status: 204 };
    }
    if (method === 'DELETE') {
      if (type === 'User') throw fail(400, 'INSUFFICIENT_ACCESS_OR_READONLY', 'insufficient access rights on object id');
      rec.IsDeleted = true;
      return { status: 204 };
    }
    throw fail(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET,PATCH,DELETE`);
  };

  // ---- OAuth --------------------------------------------------------------------------------------

  const firstActiveUser = () => [...state.records.User.values()].find((u) => u.IsActive !== false)?.Id;

  const token = (form: URLSearchParams, baseUrl: string): Reply => {
    const grant = form.get('grant_type') ?? '';
    const clientId = form.get('client_id');
    const secret = form.get('client_secret');
    const oauthError = (error: string, description: string): Reply => ({ status: 400, body: { error, error_description: description } });
    const client = options.clients.find((c) => c.clientId === clientId);
    if (grant !== 'refresh_token' && grant !== 'client_credentials') return oauthError('unsupported_grant_type', 'grant type not supported');
    if (!client) return oauthError('invalid_client_id', 'client identifier invalid');
    if (grant === 'client_credentials' && secret !== client.clientSecret) return oauthError('invalid_client', 'invalid client credentials');
    if (grant === 'refresh_token' && secret !== null && secret !== client.clientSecret) return oauthError('invalid_client', 'invalid client credentials');
    let userId: string | undefined;
    if (grant === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      if (!refreshTokens.has(rt)) return oauthError('invalid_grant', 'expired access/refresh token');
      userId = refreshTokens.get(rt) ?? firstActiveUser();
    } else {
      userId = client.runAsUserId ?? firstActiveUser();
    }
    if (!userId) return oauthError('invalid_grant', 'authentication failure');
    const user = findRecord('User', userId);
    if (!user || user.IsActive === false) return oauthError('inactive_user', 'user is inactive');
    const accessToken = `${orgId.slice(0, 15)}!${randomBytes(36).toString('base64url')}`;
    state.tokens.set(accessToken, { userId: user.Id, clientId: client.clientId });
    const id = `${baseUrl}/id/${orgId}/${user.Id}`;
    const issuedAt = String(Date.now());
    return {
      status: 200,
      body: {
        access_token: accessToken,
        signature: createHmac('sha256', client.clientSecret).update(id + issuedAt).digest('base64'),
        scope: 'api',
        instance_url: baseUrl,
        id,
        token_type: 'Bearer',
        issued_at: issuedAt,
      },
    };
  };

  // ---- HTTP ---------------------------------------------------------------------------------------

  const readBody = (req: http.IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  let baseUrl = '';

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', baseUrl);
      const method = (req.method ?? 'GET').toUpperCase();
      const raw = await readBody(req);
      const send = (status: number, body: unknown, limitHeader: boolean) => {
        const headers: Record<string, string> = {};
        if (limitHeader) headers['Sforce-Limit-Info'] = `api-usage=${state.apiUsage}/${state.apiLimit}`;
        if (body === undefined) {
          res.writeHead(status, headers).end();
        } else {
          headers['Content-Type'] = 'application/json;charset=UTF-8';
          res.writeHead(status, headers).end(JSON.stringify(body));
        }
      };

      // The root page: the org's Events, Leads and Contacts for a person to look at (page.ts).
      if (url.pathname === '/' && (method === 'GET' || method === 'HEAD')) {
        const html = renderRecordsPage((type) => [...state.records[type].values()].filter((r) => !r.IsDeleted));
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
        res.end(method === 'HEAD' ? undefined : html);
        return;
      }

      if (url.pathname === '/services/oauth2/token') {
        if (method !== 'POST') return send(405, { error: 'invalid_request', error_description: 'must use HTTP POST' }, false);
        const form = new URLSearchParams(raw);
        if (state.outage) {
          // An unavailable login host answers with an HTML page, which jsforce reports as ERROR_HTTP_<status>.
          res.writeHead(state.outage.status, { 'Content-Type': 'text/html' }).end('<html><body>Service Unavailable</body></html>');
          state.tokenRequests.push({ grantType: form.get('grant_type') ?? '', clientId: form.get('client_id'), status: state.outage.status });
          trim(state.tokenRequests);
          return;
        }
        const tokenReply = token(form, baseUrl);
        state.tokenRequests.push({ grantType: form.get('grant_type') ?? '', clientId: form.get('client_id'), status: tokenReply.status });
        trim(state.tokenRequests);
        return send(tokenReply.status, tokenReply.body, false);
      }

      if (url.pathname === '/services/data' || url.pathname === '/services/data/') {
        return send(200, [{ label: 'Stand-in', url: '/services/data/v62.0', version: '62.0' }], false);
      }
      const m = /^\/services\/data\/v(\d+\.\d+)\/(.*)$/.exec(url.pathname);
      if (!m) return send(404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }], false);
      const version = m[1];
      const parts = m[2].split('/').filter(Boolean).map(decodeURIComponent);
      let body: unknown = null;
      const log: StandinRequestLog = {
        method,
        path: url.pathname,
        soql: parts[0] === 'query' ? url.searchParams.get('q') : null,
        body: null,
        status: 0,
      };
      state.requests.push(log);
      trim(state.requests);
      const reply = (status: number, payload: unknown) => {
        log.status = status;
        send(status, payload, true);
      };
      try {
        if (raw !== '') {
          try {
            body = JSON.parse(raw);
            log.body = body;
          } catch {
            log.body = raw;
            throw fail(400, 'JSON_PARSER_ERROR', 'Unexpected character in the request body');
          }
        }
        if (state.outage) {
          throw new RestError(state.outage.status, [{ message: 'Server unavailable; please try again later.', errorCode: 'SERVER_UNAVAILABLE' }]);
        }
        const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
        const session = auth ? state.tokens.get(auth[1]) : undefined;
        if (!session) throw fail(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
        if (state.requestLimitExceeded) throw fail(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
        state.apiUsage++;
        const i = state.failures.findIndex(
          (f) => (!f.match?.method || f.match.method === method) && (!f.match?.pathEndsWith || url.pathname.endsWith(f.match.pathEndsWith)),
        );
        if (i >= 0) {
          const [injected] = state.failures.splice(i, 1);
          throw new RestError(injected.status, [injected.error]);
        }
        const out = rest(method, parts, url.searchParams, body, session.userId, version);
        reply(out.status, out.body);
      } catch (err) {
        if (err instanceof RestError) reply(err.status, err.errors);
        else reply(500, [{ message: `stand-in error: ${String(err)}`, errorCode: 'UNKNOWN_EXCEPTION' }]);
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${host}:${address.port}`;

  const switches: StandinSwitches = {
    expireSessions: () => state.tokens.clear(),
    setRequestLimitExceeded: (on) => {
      state.requestLimitExceeded = on;
    },
    setOutage: (on) => {
      state.outage = on === false ? null : on === true ? { status: 503 } : on;
    },
    failNext: (n, errorCode, status = 400, message, match) => {
      for (let i = 0; i < n; i++) state.failures.push({ status, error: { message: message ?? `injected ${errorCode}`, errorCode, fields: [] }, match });
    },
    markFieldMissing: (type, name) => {
      const f = state.schema[type].find((d) => d.name.toLowerCase() === name.toLowerCase());
      if (f) state.missingFields[type].add(f.name);
    },
    restoreField: (type, name) => {
      const f = state.schema[type].find((d) => d.name.toLowerCase() === name.toLowerCase());
      if (f) state.missingFields[type].delete(f.name);
    },
    revokeRefreshToken: (t) => {
      refreshTokens.delete(t);
    },
  };

  return {
    url: baseUrl,
    state,
    switches,
    records: (type) => [...state.records[type].values()].filter((r) => !r.IsDeleted).map((r) => ({ ...r })),
    seed: (type, fields) => insert(type, fields, firstActiveUser() ?? null).Id,
    get requests() {
      return state.requests;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    clearLog: () => {
      state.requests.length = 0;
      state.tokenRequests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Custom Event fields present by default, re-exported for tests and the CLI. */
export { DEFAULT_CUSTOM_EVENT_FIELDS };
export type { StandinObjectType, SoqlValue };
