/**
 * The agent's own API, on a unix socket of this host: attach and detach endpoints, list
 * the local ones. The CLI (`tenet ep attach`), the lab and the CNI and Docker plugins call it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../api/http-errors.js';
import { serverOptions } from '../api/server-options.js';
import type { AttachRequest, Health } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Agent } from './agent.js';
import { attach, detach } from './attach.js';
import { netnsRequestPath } from './netns-guard.js';

export function buildAgentApp(agent: Agent, logger: Logger, version: string): FastifyInstance {
  const app = Fastify({ logger: false, ...serverOptions() });
  installErrorHandler(app, logger);
  app.get('/v1/health', async (): Promise<Health> => ({ ok: true, role: 'agent', revision: agent.cache.revision, version, host: agent.host }));
  app.get('/v1/endpoints', async () => [...agent.cache.endpoints.values()].filter((e) => e.host === agent.host));
  app.post('/v1/endpoints', async (req, reply) => {
    const body = req.body;
    if (!body || typeof body !== 'object') throw new TenetError('BAD_REQUEST', 'the request body must be a JSON object', 'send {"tenant","network","netns"|"pid",…}');
    netnsRequestPath(body); // a mistyped netns or pid is a 400 before anything runs
    return reply.code(201).send(await attach(agent, body as AttachRequest, logger));
  });
  app.delete<{ Params: { id: string } }>('/v1/endpoints/:id', async (req, reply) => {
    await detach(agent, req.params.id, logger);
    return reply.code(204).send();
  });
  return app;
}
