/**
 * The controller's error answers: the shared handler of src/api/http-errors.ts, plus the
 * one expected error only the controller meets, a watch or list below the compacted revision.
 */
import type { FastifyInstance } from 'fastify';
import { installErrorHandler as installShared } from '../api/http-errors.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { CompactedError } from '../store/types.js';

export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  installShared(app, log, (err) =>
    err instanceof CompactedError ? new TenetError('COMPACTED', err.message, 'list again (GET /v1/snapshot)') : undefined,
  );
}
