/**
 * Connection settings for Temporal, shared by the API's client Connection and the worker's NativeConnection, and the
 * registration of the booking search attributes on a namespace.
 */
import * as fs from 'node:fs';
import type { Connection, TLSConfig } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { Config } from '../config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../shared/booking-contract';

/** Options accepted both by `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

/** Address of the embedded dev server for this configuration. */
export function devServerAddress(config: Config): string {
  return `127.0.0.1:${config.temporal.devServerPort}`;
}

function readFile(what: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * Builds connection options from config.temporal: the configured address (or `embeddedAddress`, the started dev
 * server's, or else the configured dev server port), TLS from the certificate files and server name, and the API key,
 * which implies TLS by default (Temporal Cloud).
 */
export function connectionOptions(config: Config, embeddedAddress?: string): TemporalConnectionOptions {
  const t = config.temporal;
  const options: TemporalConnectionOptions = { address: t.address ?? embeddedAddress ?? devServerAddress(config) };
  if (t.tlsCertPath !== null || t.tlsKeyPath !== null) {
    if (t.tlsCertPath === null || t.tlsKeyPath === null) {
      throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
    }
  }
  // config.temporal.tls already defaults to true with an API key; an explicit TEMPORAL_TLS=false (a local proxy) wins.
  const tlsWanted = t.tls || t.tlsCertPath !== null || t.tlsCaPath !== null;
  if (tlsWanted) {
    const tls: TLSConfig = {};
    if (t.tlsServerName !== null) tls.serverNameOverride = t.tlsServerName;
    if (t.tlsCaPath !== null) tls.serverRootCACertificate = readFile('TEMPORAL_TLS_CA', t.tlsCaPath);
    if (t.tlsCertPath !== null && t.tlsKeyPath !== null) {
      tls.clientCertPair = {
        crt: readFile('TEMPORAL_TLS_CERT', t.tlsCertPath),
        key: readFile('TEMPORAL_TLS_KEY', t.tlsKeyPath),
      };
    }
    options.tls = Object.keys(tls).length > 0 ? tls : true;
  }
  if (t.apiKey !== null) options.apiKey = t.apiKey;
  return options;
}

const TYPE_BY_NAME = {
  Keyword: SearchAttributeType.KEYWORD,
  Datetime: SearchAttributeType.DATETIME,
} as const;

/** The custom search attributes as typed keys (for the SDK's test environment and typed search attributes). */
export function customSearchAttributeKeys(): SearchAttributeKey<SearchAttributeType>[] {
  return Object.entries(CUSTOM_SEARCH_ATTRIBUTES).map(([name, type]) =>
    defineSearchAttributeKey(name, TYPE_BY_NAME[type]),
  );
}

/** `Name=Type` pairs for the CLI's `--search-attribute` flag. */
export function searchAttributeFlags(): string[] {
  return Object.entries(CUSTOM_SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}

/**
 * Adds the custom search attributes missing from the namespace. Needed even with the dev server's start flags,
 * because a server reopening an existing SQLite file ignores them. Fails when a name exists with another type.
 */
export async function registerSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = existing.customAttributes ?? {};
  const missing: Record<string, number> = {};
  for (const [name, type] of Object.entries(CUSTOM_SEARCH_ATTRIBUTES)) {
    const wanted = encodeSearchAttributeIndexedValueType(TYPE_BY_NAME[type]);
    if (wanted === undefined) throw new Error(`unknown search attribute type ${type}`);
    const have = custom[name];
    if (have === undefined || have === null) missing[name] = wanted;
    else if (have !== wanted) {
      throw new Error(
        `search attribute ${name} exists in namespace ${namespace} with another type (${String(have)}), expected ${type}`,
      );
    }
  }
  const names = Object.keys(missing);
  if (names.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // Another process registered them between our list and add: fine, as long as they are there now.
    if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
  }
  return names;
}
