/**
 * The agent's CNI socket (default /run/tenet/cni.sock): the `tenet` executable a runtime
 * starts (a shell script over curl, ADR 018) POSTs the CNI_* variables as query parameters
 * and the stdin config as the body to /v1/cni, and prints what comes back: 200 with a result,
 * 204 with nothing (DEL, CHECK, STATUS, GC), 4xx/5xx with a CNI error document. All the
 * protocol lives in src/cni/; this file gives it the agent's operations.
 *
 * A socket of its own, not the agent API's: a CNI call speaks CNI errors, not the API's
 * error shape, and the socket's permissions can follow the runtime's needs.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../base/logger.js';
import { handleCni, type CniOps } from '../cni/handler.js';
import type { CniEnv } from '../cni/types.js';
import { observeWorkloads } from '../datapath/workload.js';
import type { CommandRunner } from '../datapath/runner.js';
import { TenetError } from '../model/errors.js';
import type { Endpoint } from '../model/types.js';
import type { Agent } from './agent.js';
import { attach, remove } from './attach.js';

export const DEFAULT_CNI_SOCKET = '/run/tenet/cni.sock';
/** Runtimes give a plugin no deadline of their own; an answer beats a hung `podman run`. */
export const CNI_DEADLINE_MS = 25_000;
const ENV_KEYS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS'];

export function buildCniApp(agent: Agent, runner: CommandRunner, logger: Logger, deadlineMs = CNI_DEADLINE_MS): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  const ops = cniOps(agent, runner, logger);
  app.post<{ Querystring: Record<string, string> }>('/v1/cni', async (req, reply) => {
    const vars = Object.fromEntries(ENV_KEYS.map((k) => [k, typeof req.query[k] === 'string' ? req.query[k] : undefined]));
    const text = typeof req.body === 'string' ? req.body : '';
    const answer = await withDeadline(handleCni(vars, text, ops), deadlineMs);
    const where = { command: vars.CNI_COMMAND, container: vars.CNI_CONTAINERID?.slice(0, 12), ifname: vars.CNI_IFNAME };
    if (!answer.ok) {
      logger.warn({ ...where, code: answer.error.code, err: answer.error.msg }, 'cni call refused');
      return reply.code(answer.error.code === 999 ? 500 : 400).send(answer.error);
    }
    logger.debug(where, 'cni call');
    return answer.result === undefined ? reply.code(204).send() : reply.code(200).send(answer.result);
  });
  return app;
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | { ok: false; error: { cniVersion: string; code: number; msg: string } }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ ok: false; error: { cniVersion: string; code: number; msg: string } }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: { cniVersion: '1.0.0', code: 11, msg: `the Tenet agent did not finish within ${ms / 1000} s: check that it reaches its controller (tenet host ls), then retry` } }), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function cniOps(agent: Agent, runner: CommandRunner, logger: Logger): CniOps {
  const local = (id: string): Endpoint | undefined => {
    const ep = agent.cache.endpoints.get(id);
    return ep && ep.host === agent.host ? ep : undefined;
  };
  return {
    attach: (req) => attach(agent, req, logger),
    find: async (id) => local(id),
    remove: async (id, reclaimed) => {
      try {
        const ep = reclaimed === undefined ? undefined : local(id);
        // GC's release is a reclaim: the agent's removal records why (agent.removeEndpoint).
        if (ep) await agent.removeEndpoint(ep, reclaimed!);
        else await remove(agent, id, logger, true);
      } catch (err) {
        // Gone already, or not this host's (then it is not this runtime's to delete).
        if (!(err instanceof TenetError) || !['ENDPOINT_NOT_FOUND', 'NOT_LOCAL_HOST'].includes(err.code)) throw err;
      }
    },
    check: (ep, env) => checkKernel(agent, runner, ep, env),
    status: async (config) => {
      try {
        await agent.opts.controller.getNetwork(config.tenant, config.network);
      } catch (err) {
        throw new TenetError('CNI_UNAVAILABLE', `the tenet plugin cannot attach to ${config.network} of tenant ${config.tenant} now: ${(err as Error).message}`);
      }
    },
    localEndpoints: () => [...agent.cache.endpointsOn(agent.host).values()],
    publish: async (id, ports) => {
      await agent.publishPorts(id, ports);
    },
  };
}

/** CHECK against the kernel: the namespace is the one attached, the interface is Tenet's veth with its MAC and address. */
async function checkKernel(agent: Agent, runner: CommandRunner, ep: Endpoint, env: CniEnv): Promise<void> {
  const fail = (why: string) => new TenetError('CNI_CHECK_FAILED', `container ${env.containerId.slice(0, 12)} ${env.ifname}: ${why}`, 'DEL and ADD it again');
  const att = ep.attachment;
  if (att?.kind !== 'netns') throw fail('its endpoint is not attached to a namespace');
  const now = await agent.namespaces.identity(env.netns).catch(() => undefined);
  if (!now) throw fail(`${env.netns} is not a network namespace any more`);
  if (now.dev !== att.netnsId.dev || now.ino !== att.netnsId.ino) throw fail(`${env.netns} is not the namespace it was attached to`);
  const seen = (await observeWorkloads(runner, [env.netns])).get(env.netns);
  if (!seen || seen instanceof Error) throw fail(`its namespace cannot be read (${seen?.message ?? 'no answer'})`);
  const iface = seen.ifaces.get(env.ifname);
  if (!iface) throw fail('the interface is gone');
  if (iface.kind !== 'veth') throw fail(`the interface is a ${iface.kind || 'device'} Tenet did not make, not a veth`);
  if (iface.mac !== ep.mac) throw fail(`its MAC is ${iface.mac}, Tenet gave it ${ep.mac}`);
  const address = `${ep.ip}/${ep.prefixLen}`;
  if (!iface.addrs.includes(address)) throw fail(`its address ${address} was removed`);
}
