/**
 * The agent's own API, on a unix socket of this host: create and attach endpoints, attach
 * an existing one, detach (keep the endpoint), remove, list the local ones. The CLI (`tenet
 * ep attach`), the lab and the CNI and Docker plugins call it.
 */
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler, schemaServerOptions } from '../api/http-errors.js';
import { installRouteSchemas, OPENAPI_ROUTE, type RouteSchemas } from '../api/openapi.js';
import { AgentAttachBody, AgentAttachExistingBody, ContainerAttachBody, ContainerDetachBody, HealthSchema } from '../api/schemas.js';
import { serverOptions } from '../api/server-options.js';
import type { AttachExistingRequest, AttachRequest, ContainerAttachRequest, ContainerDetachRequest, Health } from '../api/types.js';
import type { Logger } from '../base/logger.js';
import { MAX_TEXT } from '../model/limits.js';
import { EndpointSchema } from '../model/schemas.js';
import type { Agent } from './agent.js';
import { attach, attachExisting, detach, remove } from './attach.js';
import type { DockerEngine } from '../docker/engine.js';
import { attachContainer, detachContainer } from './docker.js';
import { netnsRequestPath } from './netns-guard.js';

type IdParams = { Params: { id: string } };

const id = Type.Object({ id: Type.String({ maxLength: MAX_TEXT }) }, { additionalProperties: false });

/** The schema of every agent route (ADR 009); api/openapi.ts attaches them and publishes them. */
export const AGENT_ROUTES: RouteSchemas = {
  ...OPENAPI_ROUTE,
  'GET /v1/health': { response: { 200: HealthSchema } },
  'GET /v1/endpoints': { summary: "This host's endpoints", response: { 200: Type.Array(EndpointSchema) } },
  'POST /v1/endpoints': {
    summary: 'Create an endpoint on this host and attach it to netns or pid (neither: created detached)',
    body: AgentAttachBody,
    response: { 201: EndpointSchema },
  },
  'POST /v1/endpoints/:id/attach': { summary: 'Attach an existing, detached endpoint', params: id, body: AgentAttachExistingBody, response: { 200: EndpointSchema } },
  'POST /v1/endpoints/:id/detach': { summary: 'Unbind an endpoint; it keeps its name, labels and address', params: id, response: { 200: EndpointSchema } },
  'DELETE /v1/endpoints/:id': { params: id, response: { 204: Type.Null({ description: 'no content' }) } },
  'POST /v1/docker/attach': { summary: "Attach a running container of this host's dockerd (by id or name)", body: ContainerAttachBody, response: { 201: EndpointSchema } },
  'POST /v1/docker/detach': {
    summary: "Remove a container's endpoints (of one network), releasing their addresses",
    body: ContainerDetachBody,
    response: { 200: Type.Object({ removed: Type.Array(Type.String()) }) },
  },
};

/** `docker`: this host's dockerd, when the agent has one (the /v1/docker routes need it). */
export function buildAgentApp(agent: Agent, logger: Logger, version: string, docker?: DockerEngine): FastifyInstance {
  const app = Fastify({ logger: false, ...schemaServerOptions, ...serverOptions() });
  installErrorHandler(app, logger);
  // In a plugin so the schema table is in place before the routes register (the builder stays synchronous).
  app.register(async (scope) => {
    await installRouteSchemas(scope, AGENT_ROUTES, 'Tenet agent API', version);
    agentRoutes(scope, agent, logger, version);
    dockerRoutes(scope, agent, logger, docker);
  });
  return app;
}

function agentRoutes(app: FastifyInstance, agent: Agent, logger: Logger, version: string): void {
  app.get('/v1/health', async (): Promise<Health> => ({ ok: true, role: 'agent', revision: agent.cache.revision, version, host: agent.host }));
  app.get('/v1/endpoints', async () => [...agent.cache.endpointsOn(agent.host).values()]);
  app.post<{ Body: AttachRequest }>('/v1/endpoints', async (req, reply) => {
    const body = req.body;
    // A mistyped netns or pid is a 400 before anything runs; neither means a detached endpoint.
    if (body.netns !== undefined || body.pid !== undefined) netnsRequestPath(body);
    return reply.code(201).send(await attach(agent, body, logger));
  });
  app.post<IdParams & { Body: AttachExistingRequest }>('/v1/endpoints/:id/attach', async (req) => attachExisting(agent, req.params.id, req.body, logger));
  app.post<IdParams>('/v1/endpoints/:id/detach', async (req) => detach(agent, req.params.id, logger));
  app.delete<IdParams>('/v1/endpoints/:id', async (req, reply) => {
    await remove(agent, req.params.id, logger);
    return reply.code(204).send();
  });
}

function dockerRoutes(app: FastifyInstance, agent: Agent, logger: Logger, docker: DockerEngine | undefined): void {
  app.post<{ Body: ContainerAttachRequest }>('/v1/docker/attach', async (req, reply) => reply.code(201).send(await attachContainer(agent, docker, req.body, logger)));
  app.post<{ Body: ContainerDetachRequest }>('/v1/docker/detach', async (req) => ({ removed: await detachContainer(agent, docker, req.body.container, req.body.network, logger) }));
}
