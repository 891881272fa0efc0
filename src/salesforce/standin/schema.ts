/**
 * The part of the Salesforce data model the stand-in serves: Event (with the connector's custom fields),
 * Lead, Contact, Case and User, with field types, required fields and reference targets as the Object
 * Reference describes them (reference/salesforce-rest.md sections 4 and 5).
 */

/** sObject types the stand-in knows. */
export type StandinObjectType = 'Event' | 'Lead' | 'Contact' | 'Case' | 'User';

export const OBJECT_TYPES: readonly StandinObjectType[] = ['Event', 'Lead', 'Contact', 'Case', 'User'];

/** Key prefixes of record ids (the first three characters). */
export const KEY_PREFIX: Record<StandinObjectType, string> = {
  Event: '00U',
  Lead: '00Q',
  Contact: '003',
  Case: '500',
  User: '005',
};

export type FieldType = 'id' | 'string' | 'textarea' | 'email' | 'datetime' | 'date' | 'int' | 'boolean' | 'reference' | 'picklist';

/** One field of an sObject. */
export interface FieldDef {
  name: string;
  type: FieldType;
  /** Max length of string-like fields. */
  length?: number;
  /** Objects a reference may point to. */
  referenceTo?: StandinObjectType[];
  /** Required on create (REQUIRED_FIELD_MISSING otherwise). */
  required?: boolean;
  /** False for system fields: writing one gives INVALID_FIELD_FOR_INSERT_UPDATE. */
  writable?: boolean;
  /** Value given on create when none is sent. */
  defaultValue?: string | number | boolean | null;
}

const system = (name: string, type: FieldType): FieldDef => ({ name, type, writable: false });
const str = (name: string, length = 255, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type: 'string', length, ...extra });
const ref = (name: string, referenceTo: StandinObjectType[], extra: Partial<FieldDef> = {}): FieldDef => ({
  name,
  type: 'reference',
  referenceTo,
  ...extra,
});

const common = [
  system('Id', 'id'),
  system('CreatedDate', 'datetime'),
  system('LastModifiedDate', 'datetime'),
  system('CreatedById', 'reference'),
  system('LastModifiedById', 'reference'),
  system('IsDeleted', 'boolean'),
];

/** The connector's custom Event fields, present by default (markFieldMissing removes one). */
export const DEFAULT_CUSTOM_EVENT_FIELDS = ['Event_Status__c', 'Cancel_Reschedule_Reason__c', 'Booking_Id__c'];

/** Field definitions per object. Owner and Who/What references are validated against existing records. */
export function defaultSchema(): Record<StandinObjectType, FieldDef[]> {
  return {
    Event: [
      ...common,
      str('Subject'),
      { name: 'StartDateTime', type: 'datetime' },
      { name: 'EndDateTime', type: 'datetime' },
      { name: 'DurationInMinutes', type: 'int' },
      { name: 'ActivityDateTime', type: 'datetime' },
      { name: 'ActivityDate', type: 'date' },
      { name: 'IsAllDayEvent', type: 'boolean', defaultValue: false },
      str('Location'),
      { name: 'Description', type: 'textarea', length: 32_000 },
      ref('WhoId', ['Contact', 'Lead']),
      ref('WhatId', ['Case']),
      ref('OwnerId', ['User']),
      { name: 'ShowAs', type: 'picklist', length: 40, defaultValue: 'Busy' },
      { name: 'Type', type: 'picklist', length: 40 },
      { name: 'IsPrivate', type: 'boolean', defaultValue: false },
      str('Event_Status__c', 255),
      str('Cancel_Reschedule_Reason__c', 255),
      str('Booking_Id__c', 64),
    ],
    Lead: [
      ...common,
      str('FirstName', 40),
      str('LastName', 80, { required: true }),
      str('Company', 255, { required: true }),
      { name: 'Email', type: 'email', length: 80 },
      str('Phone', 40),
      { name: 'Status', type: 'picklist', length: 40, defaultValue: 'Open - Not Contacted' },
      { name: 'IsConverted', type: 'boolean', writable: false, defaultValue: false },
      ref('ConvertedContactId', ['Contact'], { writable: false }),
      ref('OwnerId', ['User']),
      { name: 'Description', type: 'textarea', length: 32_000 },
    ],
    Contact: [
      ...common,
      str('FirstName', 40),
      str('LastName', 80, { required: true }),
      { name: 'Email', type: 'email', length: 80 },
      str('Phone', 40),
      { name: 'AccountId', type: 'reference' },
      ref('OwnerId', ['User']),
      { name: 'Description', type: 'textarea', length: 32_000 },
    ],
    Case: [
      ...common,
      str('Subject'),
      { name: 'Description', type: 'textarea', length: 32_000 },
      { name: 'Status', type: 'picklist', length: 40, defaultValue: 'New' },
      { name: 'Origin', type: 'picklist', length: 40 },
      { name: 'Priority', type: 'picklist', length: 40, defaultValue: 'Medium' },
      ref('ContactId', ['Contact']),
      { name: 'AccountId', type: 'reference' },
      { name: 'SuppliedEmail', type: 'email', length: 80 },
      str('SuppliedName', 80),
      { name: 'CaseNumber', type: 'string', length: 30, writable: false },
      ref('OwnerId', ['User']),
    ],
    User: [
      ...common,
      { name: 'Email', type: 'email', length: 128, required: true },
      { name: 'IsActive', type: 'boolean', defaultValue: true },
      str('Name', 121),
      str('Username', 80),
    ],
  };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character case-safe suffix Salesforce appends to a 15-character id. */
export function idSuffix(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    out += SUFFIX.charAt(bits);
  }
  return out;
}

/** An 18-character id: key prefix, a pod-like '5g0', a base-62 counter, the case-safe suffix. */
export function makeId(type: StandinObjectType, n: number): string {
  let digits = '';
  let v = n;
  do {
    digits = BASE62.charAt(v % 62) + digits;
    v = Math.floor(v / 62);
  } while (v > 0);
  const id15 = `${KEY_PREFIX[type]}5g0${digits.padStart(9, '0')}`;
  return id15 + idSuffix(id15);
}

/** Whether a string has the shape of a 15- or 18-character Salesforce id. */
export function isIdShape(s: string): boolean {
  return /^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(s);
}

/** The object type an id's key prefix names, if the stand-in knows it. */
export function typeOfId(id: string): StandinObjectType | undefined {
  const prefix = id.slice(0, 3);
  return OBJECT_TYPES.find((t) => KEY_PREFIX[t] === prefix);
}
