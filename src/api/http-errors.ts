/**
 * The one place a failure becomes an HTTP answer: {"error":{"code","message"}} with the
 * catalog's status. TenetErrors are expected (bad input, a missing object) and are sent as
 * they are; fastify's own rejections of a request (bad JSON, wrong content type, too large)
 * become BAD_REQUEST with one clear line; anything else is a bug: logged with its stack, and
 * the client gets INTERNAL without the details.
 *
 * Nothing here may throw while formatting (issue #5: a body nested 20,000 deep made a
 * validator's JSON.stringify throw RangeError, and a 900 KB name was echoed back whole):
 * every message sent is capped, and a failure inside the handler still answers INTERNAL.
 * The same install refuses bodies nested deeper than MAX_BODY_DEPTH before any handler or
 * schema sees them, so no route can meet one.
 *
 * Route schemas (ADR 009) are checked by fastify's Ajv; a request that fails one becomes
 * BAD_REQUEST with one line naming the field and what it must be ("field body/name must be
 * a string"), built from Ajv's error parameters, never from the value sent (which may be
 * huge), and the field path is cut as every message is.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../base/logger.js';
import { isTenetError, TenetError } from '../model/errors.js';
import { MAX_BODY_DEPTH } from './server-options.js';

const SEND_JSON = 'send a JSON object with content-type application/json';
/** Longest message sent; validators quote at most ~64 characters of a value (quoteValue). */
const MAX_MESSAGE = 512;

/** `translate` lets a server map its own expected errors (the store's CompactedError) first. */
export function installErrorHandler(app: FastifyInstance, log: Logger, translate: (err: unknown) => TenetError | undefined = () => undefined): void {
  app.setErrorHandler((err, req, reply) => {
    let e: TenetError;
    try {
      e = translate(err) ?? toTenetError(err, req, log);
    } catch {
      e = new TenetError('INTERNAL', 'internal error', 'this is a bug; the server log has the details');
    }
    return send(reply, e);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const shown = path.length > 128 ? `${path.slice(0, 128)}…` : path;
    return send(reply, new TenetError('BAD_REQUEST', `no route ${req.method} ${shown}`, 'check the path and the method; this server speaks API /v1'));
  });
  app.addHook('preValidation', async (req) => {
    const depth = bodyDepth(req.body, MAX_BODY_DEPTH);
    if (depth > MAX_BODY_DEPTH) {
      throw new TenetError('BAD_REQUEST', `the request body is nested more than ${MAX_BODY_DEPTH} levels deep`, 'send the flat JSON object the API documents');
    }
  });
}

function send(reply: FastifyReply, e: TenetError): FastifyReply {
  const body = e.toJSON();
  if (body.error.message.length > MAX_MESSAGE) body.error.message = `${body.error.message.slice(0, MAX_MESSAGE)}… (cut)`;
  return reply.code(e.status).send(body);
}

export function toTenetError(err: unknown, req: FastifyRequest, log: Logger): TenetError {
  if (isTenetError(err)) return err;
  const status = (err as Partial<FastifyError> | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new TenetError('BAD_REQUEST', requestProblem(err as FastifyError));
  const e = err instanceof Error ? err : new Error(typeof err === 'string' ? err : 'a non-Error value was thrown');
  try {
    log.error({ method: req.method, url: req.url.slice(0, 256), err: e.message, stack: e.stack }, 'request failed with an unexpected error');
  } catch {
    // the answer matters more than the log line
  }
  return new TenetError('INTERNAL', 'internal error', 'this is a bug; the server log has the details');
}

function requestProblem(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `the request body is not valid JSON: ${SEND_JSON}`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `the request body is empty: ${SEND_JSON}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `unsupported content type: ${SEND_JSON}`;
    case 'FST_ERR_VALIDATION':
      return validationMessage((err as FastifyError & { validation?: AjvError[] }).validation ?? [], err.validationContext ?? 'body');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'the request body is too large: Tenet requests are a few KB at most';
    default: {
      const detail = String(err.message).slice(0, 200);
      return err instanceof SyntaxError ? `the request body is not valid JSON (${detail}): ${SEND_JSON}` : `bad request: ${detail}`;
    }
  }
}

/** What fastify's validator reports (Ajv's ErrorObject, the part used here). */
export interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

/**
 * Fastify server options for the route schemas: no type coercion (a body's "1400" is not the
 * number 1400, and a query string's numbers are declared as digit strings), and schema
 * failures reported as a TenetError straight away.
 */
export const schemaServerOptions = {
  ajv: { customOptions: { coerceTypes: false, allErrors: false } },
  schemaErrorFormatter: (errors: AjvError[], context: string): Error => new TenetError('BAD_REQUEST', validationMessage(errors, context), 'see GET /v1/openapi.json for the request\'s schema'),
};

const TYPE_NAMES: Record<string, string> = { integer: 'a whole number', object: 'a JSON object', array: 'an array', string: 'a string', boolean: 'true or false', number: 'a number' };

/** One line for the first thing wrong with a request part ("body", "querystring", "params"). */
export function validationMessage(errors: AjvError[], context: string): string {
  const union = errors.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const first = union ?? errors[0];
  if (!first) return `the request ${context} does not match its schema`;
  const path = `${context}${first.instancePath}`;
  const field = path.length > 120 ? `${path.slice(0, 120)}…` : path;
  if (first.keyword === 'required') return `field ${field}/${String(first.params.missingProperty).slice(0, 64)} is missing`;
  if (first === union) {
    const allowed = errors.filter((e) => e.keyword === 'const' && e.instancePath === first.instancePath).map((e) => JSON.stringify(e.params.allowedValue));
    return allowed.length ? `field ${field} must be one of ${allowed.join(', ')}` : `field ${field} matches none of its allowed forms`;
  }
  return `field ${field} ${mustBe(first)}`;
}

function mustBe(e: AjvError): string {
  const p = e.params;
  switch (e.keyword) {
    case 'type':
      return `must be ${String(p.type).split(',').map((t) => TYPE_NAMES[t] ?? t).join(' or ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'pattern':
      return `must match ${String(p.pattern)}`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters`;
    case 'maxItems':
      return `must have at most ${String(p.limit)} items`;
    case 'additionalProperties':
      return `has an unknown field ${JSON.stringify(String(p.additionalProperty).slice(0, 64))}`;
    default:
      return `fails the schema's ${e.keyword} rule`;
  }
}

/**
 * How deeply `value` nests, counted without recursion and given up past `limit`, so a body
 * nested 20,000 deep costs no stack and no more work than its first `limit` levels.
 */
export function bodyDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > limit) return depth + 1;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return deepest;
}
