/**
 * How request schemas are compiled: one Ajv for bodies that never coerces types (a JSON body says what it
 * means, so `"30"` for an integer is a 400), one for query strings, path params and headers that does
 * (they are strings by nature: `limit=5` must still be a number). Both know the API's own formats, installed
 * after ajv-formats so they replace its looser `date-time` (which lets a leap second through to `new Date`).
 */
import { AjvCompiler, type Ajv } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';
import { isDateTime, isIanaTimezone } from '../schemas/common';

const sharedOptions = { removeAdditional: false, useDefaults: true, allErrors: false } as const;

function addFormats(ajv: Ajv): void {
  ajv.addFormat('iana-timezone', isIanaTimezone);
  ajv.addFormat('date-time', isDateTime);
}

/** The `schemaController` server option: request parts validated as described above. */
export function schemaController(): NonNullable<FastifyServerOptions['schemaController']> {
  const bodies = AjvCompiler();
  const others = AjvCompiler();
  return {
    compilersFactory: {
      buildValidator(externalSchemas) {
        const body = bodies(externalSchemas, { customOptions: { ...sharedOptions, coerceTypes: false }, onCreate: addFormats });
        const other = others(externalSchemas, { customOptions: { ...sharedOptions, coerceTypes: 'array' }, onCreate: addFormats });
        return (route) => (route.httpPart === 'body' ? body(route) : other(route));
      },
    },
  };
}
