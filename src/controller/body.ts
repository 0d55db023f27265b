/** Request-shape checks the model's validators do not cover (body is an object, optional fields). */
import { TenetError } from '../model/errors.js';

export type Fields = Record<string, unknown>;

export function bodyObject(body: unknown): Fields {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TenetError('BAD_REQUEST', 'the request body must be a JSON object', 'send one with content-type application/json');
  }
  return body as Fields;
}

export function optionalString(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TenetError('BAD_REQUEST', `field "${field}" must be a string`);
  return value;
}

/** A revision given in a body or a query string: a whole number >= 0. */
export function revisionField(field: string, value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new TenetError('BAD_REQUEST', `invalid ${field} ${JSON.stringify(value)}`, 'give a whole number >= 0');
  }
  return n;
}
