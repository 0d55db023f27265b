/**
 * The one place a failure becomes an HTTP answer: {"error":{"code","message"}} with the
 * catalog's status. TenetErrors are expected (bad input, a missing object) and are sent as
 * they are; fastify's own rejections of a request (bad JSON, wrong content type) become
 * BAD_REQUEST with one clear line; anything else is a bug: logged with its stack, and the
 * client gets INTERNAL without the details.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../base/logger.js';
import { isTenetError, TenetError } from '../model/errors.js';


const SEND_JSON = 'send a JSON object with content-type application/json';

/** `translate` lets a server map its own expected errors (the store's CompactedError) first. */
export function installErrorHandler(app: FastifyInstance, log: Logger, translate: (err: unknown) => TenetError | undefined = () => undefined): void {
  app.setErrorHandler((err, req, reply) => {
    const e = translate(err) ?? toTenetError(err, req, log);
    return reply.code(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new TenetError('BAD_REQUEST', `no route ${req.method} ${req.url.split('?')[0]}`, 'check the path and the method; this server speaks API /v1');
    return reply.code(e.status).send(e.toJSON());
  });
}

export function toTenetError(err: unknown, req: FastifyRequest, log: Logger): TenetError {
  if (isTenetError(err)) return err;
  const status = (err as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new TenetError('BAD_REQUEST', requestProblem(err as FastifyError));
  const e = err instanceof Error ? err : new Error(String(err));
  log.error({ method: req.method, url: req.url, err: e.message, stack: e.stack }, 'request failed with an unexpected error');
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
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'the request body is too large';
    default:
      return err instanceof SyntaxError ? `the request body is not valid JSON (${err.message}): ${SEND_JSON}` : `bad request: ${err.message}`;
  }
}
