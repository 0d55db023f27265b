/**
 * The agent's own API, on a unix socket of this host: create and attach endpoints, attach
 * an existing one, detach (keep the endpoint), remove, list the local ones. The CLI (`tenet
 * ep attach`), the lab and the CNI and Docker plugins call it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../api/http-errors.js';
import { serverOptions } from '../api/server-options.js';
import type { AttachExistingRequest, AttachRequest, Health } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Agent } from './agent.js';
import { attach, attachExisting, detach, remove } from './attach.js';
import { netnsRequestPath } from './netns-guard.js';

type IdParams = { Params: { id: string } };

function objectBody<T>(body: unknown, example: string): T {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new TenetError('BAD_REQUEST', 'the request body must be a JSON object', `send ${example}`);
  return body as T;
}

export function buildAgentApp(agent: Agent, logger: Logger, version: string): FastifyInstance {
  const app = Fastify({ logger: false, ...serverOptions() });
  installErrorHandler(app, logger);
  app.get('/v1/health', async (): Promise<Health> => ({ ok: true, role: 'agent', revision: agent.cache.revision, version, host: agent.host }));
  app.get('/v1/endpoints', async () => [...agent.cache.endpoints.values()].filter((e) => e.host === agent.host));
  app.post('/v1/endpoints', async (req, reply) => {
    const body = objectBody<AttachRequest>(req.body, '{"tenant","network","netns"|"pid",…}');
    // A mistyped netns or pid is a 400 before anything runs; neither means a detached endpoint.
    if (body.netns !== undefined || body.pid !== undefined) netnsRequestPath(body);
    return reply.code(201).send(await attach(agent, body, logger));
  });
  app.post<IdParams>('/v1/endpoints/:id/attach', async (req) =>
    attachExisting(agent, req.params.id, objectBody<AttachExistingRequest>(req.body, '{"netns"|"pid","ifname"}'), logger),
  );
  app.post<IdParams>('/v1/endpoints/:id/detach', async (req) => detach(agent, req.params.id, logger));
  app.delete<IdParams>('/v1/endpoints/:id', async (req, reply) => {
    await remove(agent, req.params.id, logger);
    return reply.code(204).send();
  });
  return app;
}
