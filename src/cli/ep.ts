/**
 * `tenet ep attach|create|detach|rm|label|ls|show` (ADR 005 has the model):
 *   ep attach --tenant T --net N --netns P   create an endpoint here and attach it, one call
 *   ep attach ID --netns P                   attach an existing (detached) endpoint
 *   ep attach ... --handoff                  instead of a namespace: a host interface (printed) for a runtime to move
 *   ep create --tenant T --net N [--host H]  an endpoint with an address, attached to nothing
 *   ep detach ID                             unbind it; it keeps its name, labels and address
 *   ep rm ID                                 remove it and release its address
 *   ep label ID k=v k2-                      set and remove labels
 *   ep ls --stale                            what the agents reclaimed on their own, and why
 *   ep expose ID 8080:80[/udp] / ep unexpose ID [8080]   published ports (ep-ports.ts)
 * Attach, detach and rm of attached endpoints go to the agent of this host (it owns the
 * datapath and resolves --pid to a namespace); the rest asks the controller.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { AgentClient } from '../api/client.js';
import { sleep } from '../base/async.js';
import { isTenetError, TenetError } from '../model/errors.js';
import { agentAddress } from '../api/defaults.js';
import type { AttachRequest, EndpointRealization, LabelPatchRequest } from '../api/types.js';
import { formatAge, formatFields, formatJson, type Column } from '../base/table.js';
import type { Endpoint } from '../model/types.js';
import { attachedColumns, endpointColumns, reclaimedColumns, ipWithPrefix, labelsText } from './columns.js';
import { addPortCommands, portsText } from './ep-ports.js';
import { globals, print, printDone, printOne, printRows, wholeNumber, withController } from './context.js';

interface AttachOptions {
  tenant?: string;
  net?: string;
  netns?: string;
  pid?: number;
  ifname?: string;
  ip?: string;
  mac?: string;
  id?: string;
  name?: string;
  label?: Record<string, string>;
  handoff?: boolean;
  agent?: string;
}

interface CreateOptions {
  tenant: string;
  net: string;
  host?: string;
  ip?: string;
  mac?: string;
  id?: string;
  name?: string;
  label?: Record<string, string>;
}

export const AGENT_HELP = 'agent address: unix:/path or http://host:port (default: $TENET_AGENT or the local agent socket)';

export async function withAgent<T>(address: string | undefined, fn: (a: AgentClient) => Promise<T>): Promise<T> {
  const agent = new AgentClient(agentAddress(address));
  try {
    return await fn(agent);
  } finally {
    agent.close();
  }
}

/** Commander collector for a repeatable --label k=v. */
export function labelOption(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value.');
  return { ...previous, [text.slice(0, eq)]: text.slice(eq + 1) };
}

/** `k=v` sets, `k-` removes: kubectl label's shape. */
export function labelPatch(args: string[], cmd: Command): LabelPatchRequest {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of args) {
    if (a.endsWith('-') && !a.includes('=')) remove.push(a.slice(0, -1));
    else if (a.indexOf('=') > 0) set[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
    else cmd.error(`error: invalid label change '${a}' (use key=value to set, key- to remove)`);
  }
  return { set, remove };
}

/** Checked here rather than by commander so every mistake gets one clear sentence. */
export function attachRequest(opts: AttachOptions, cmd: Command, id?: string): AttachRequest {
  if ([opts.netns, opts.pid, opts.handoff].filter((v) => v !== undefined).length !== 1) {
    cmd.error('error: give exactly one of --netns PATH, --pid PID (the network namespace to attach) or --handoff (a host interface for a runtime to move)');
  }
  if (id === undefined && (opts.tenant === undefined || opts.net === undefined)) {
    cmd.error('error: give --tenant and --net to create and attach an endpoint, or the ID of an existing one');
  }
  if (id !== undefined && (opts.tenant || opts.net || opts.ip || opts.mac || opts.name || opts.label || opts.id)) {
    cmd.error(`error: endpoint ${id} exists already: give only --netns/--pid/--handoff and --ifname to attach it`);
  }
  const { tenant = '', net: network = '', netns, pid, handoff, ifname, ip, mac, id: newId, name, label: labels } = opts;
  return { tenant, network, netns, pid, ...(handoff ? { handoff } : {}), ifname, ip, mac, id: newId, name, labels, idempotencyKey: randomUUID() };
}

/** How long `ep attach` keeps retrying a dropped call; shorter than the agent's claim window (claims.ts). */
export const ATTACH_RETRY_MS = 20_000;

/**
 * Runs an attach call, retrying it as it is (the same idempotency key) while the agent cannot
 * be reached or the connection drops before an answer (an agent restart): the retry finds
 * the endpoint the first try made, or makes it, never a second one. An answer, even an
 * error, is final.
 */
export async function retryingAttach<T>(call: () => Promise<T>, budgetMs = ATTACH_RETRY_MS): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await call();
    } catch (err) {
      const dropped = !isTenetError(err) || err.code === 'AGENT_UNREACHABLE';
      if (!dropped || Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}

function addAttach(ep: Command): void {
  ep.command('attach')
    .description('attach a network namespace on this host: a new endpoint (--tenant, --net) or an existing one (ID)')
    .argument('[id]', 'an existing, detached endpoint to attach')
    .option('--tenant <tenant>', 'tenant of the network (new endpoint)')
    .option('--net <network>', 'network to join (new endpoint)')
    .option('--netns <path>', 'namespace path, e.g. /run/netns/c1')
    .option('--pid <pid>', 'a process whose network namespace to attach', wholeNumber(1))
    .option('--handoff', 'no namespace: make a host interface (printed) for a runtime to move into its own, e.g. Docker')
    .option('--ifname <name>', 'interface name inside the namespace', 'eth0')
    .option('--ip <address>', 'requested address (default: next free)')
    .option('--mac <mac>', 'requested MAC (default: derived from the address)')
    .option('--name <name>', 'endpoint name, unique in its network')
    .option('--label <key=value>', 'a label (repeatable)', labelOption)
    .option('--id <id>', 'endpoint id (default: generated); retrying with the same id is safe')
    .option('--agent <address>', AGENT_HELP)
    .action(async (id: string | undefined, opts: AttachOptions, cmd: Command) => {
      const req = attachRequest(opts, cmd, id);
      const attached = await withAgent(opts.agent, (a) =>
        retryingAttach(() => (id === undefined ? a.attach(req) : a.attachExisting(id, { netns: req.netns, pid: req.pid, handoff: req.handoff, ifname: req.ifname, idempotencyKey: req.idempotencyKey }))),
      );
      printOne(cmd, attached, req.handoff ? handoffColumns : attachedColumns);
    });
}

/** `--handoff`: the host interface is what the caller came for (it moves it into its namespace). */
const handoffColumns: Column<Endpoint>[] = [
  ...attachedColumns,
  { header: 'HOST IFNAME', value: (e) => (e.attachment?.kind === 'handoff' ? e.attachment.hostIfname : '-') },
];

function addCreate(ep: Command): void {
  ep.command('create')
    .description('create an endpoint with an address, attached to nothing yet (attach it later: tenet ep attach ID)')
    .requiredOption('--tenant <tenant>', 'tenant of the network')
    .requiredOption('--net <network>', 'network to join')
    .option('--host <host>', 'host it will be attached on (default: decided at attach)')
    .option('--ip <address>', 'requested address, or one reserved with tenet ip reserve (default: next free)')
    .option('--mac <mac>', 'requested MAC (default: derived from the address)')
    .option('--name <name>', 'endpoint name, unique in its network')
    .option('--label <key=value>', 'a label (repeatable)', labelOption)
    .option('--id <id>', 'endpoint id (default: generated); retrying with the same id is safe')
    .action(async (opts: CreateOptions, cmd: Command) => {
      const req = { host: opts.host, ip: opts.ip, mac: opts.mac, name: opts.name, labels: opts.label, id: opts.id };
      printOne(cmd, await withController(cmd, (c) => c.createEndpoint(opts.tenant, opts.net, req)), attachedColumns);
    });
}

function addDetachAndRemove(ep: Command): void {
  ep.command('detach')
    .description('detach an endpoint from its namespace; it keeps its name, labels and address')
    .argument('<id>', 'endpoint id')
    .option('--agent <address>', AGENT_HELP)
    .action(async (id: string, opts: { agent?: string }, cmd: Command) => {
      await withAgent(opts.agent, (a) => a.detach(id));
      printDone(cmd, `detached endpoint ${id} (it keeps its address; tenet ep rm ${id} releases it)`);
    });

  ep.command('rm')
    .description('remove an endpoint (detaching it first if attached) and release its address')
    .argument('<id>', 'endpoint id')
    .option('--agent <address>', AGENT_HELP)
    .action(async (id: string, opts: { agent?: string }, cmd: Command) => {
      const e = await withController(cmd, (c) => c.getEndpoint(id));
      // An attached endpoint's port is on a host: its agent removes it. A detached one is data only.
      if (e.attachment) await withAgent(opts.agent, (a) => a.remove(id));
      else await withController(cmd, (c) => c.deleteEndpoint(id));
      printDone(cmd, `removed endpoint ${id}`);
    });
}

function addLabelAndLs(ep: Command): void {
  ep.command('label')
    .description('set (key=value) and remove (key- or --remove key) labels of an endpoint; policy group: selectors match them')
    .argument('<id>', 'endpoint id')
    .argument('[changes...]', 'key=value to set, key- to remove')
    .option('--remove <key>', 'a label to remove (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .action(async (id: string, changes: string[], opts: { remove?: string[] }, cmd: Command) => {
      if (changes.length === 0 && !opts.remove) cmd.error('error: give key=value, key- or --remove key');
      const patch = labelPatch(changes, cmd);
      patch.remove = [...(patch.remove ?? []), ...(opts.remove ?? [])];
      printOne(cmd, await withController(cmd, (c) => c.labelEndpoint(id, patch)), endpointColumns);
    });

  ep.command('ls')
    .description('list endpoints, attached and detached, optionally filtered; --stale: those agents reclaimed, and why')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--net <network>', 'only this network')
    .option('--host <host>', 'only this host')
    .option('--label <key=value>', 'only endpoints with this label (repeatable: all must match)', (v: string, p: string[] = []) => [...p, v])
    .option('--stale', 'endpoints the agents released on their own (namespace gone or re-made; attach never completed; container gone), newest first: the last 1000 of the last 24 h')
    .action(async (opts: { tenant?: string; net?: string; host?: string; label?: string[]; stale?: boolean }, cmd: Command) => {
      const filter = { tenant: opts.tenant, network: opts.net, host: opts.host, labels: opts.label };
      if (!opts.stale) return printRows(cmd, await withController(cmd, (c) => c.listEndpoints(filter)), endpointColumns);
      if (opts.label?.length) throw new TenetError('BAD_REQUEST', '--label does not filter --stale', 'filter reclaimed endpoints with --tenant, --net or --host');
      printRows(cmd, await withController(cmd, (c) => c.listReclaimed({ tenant: opts.tenant, network: opts.net, host: opts.host })), reclaimedColumns);
    });
}

export function addEpCommands(program: Command): void {
  const ep = program.command('ep').description('create, attach, detach, label, expose, list and remove endpoints');
  addAttach(ep);
  addCreate(ep);
  addDetachAndRemove(ep);
  addLabelAndLs(ep);
  addPortCommands(ep);
  ep.command('show')
    .description('show one endpoint')
    .argument('<id>', 'endpoint id')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const [e, r] = await withController(cmd, (c) => Promise.all([c.getEndpoint(id), c.endpointRealization(id)]));
      print(cmd, globals(cmd).output === 'json' ? formatJson({ ...e, realization: r }) : showText(e, r));
    });
}

function realizedText(r: EndpointRealization): string {
  const done = r.hosts.filter((h) => h.realized).length;
  const pending = r.hosts.filter((h) => !h.realized).map((h) => h.host);
  return `${r.realized ? 'yes' : 'no'}: ${done}/${r.hosts.length} hosts${pending.length ? ` (waiting for ${pending.join(', ')})` : ''}`;
}

function attachmentText(e: Endpoint): string {
  const a = e.attachment;
  if (!a) return '- (detached)';
  if (a.kind === 'handoff') return `handoff: host interface ${a.hostIfname}, moved by its runtime as ${a.ifname}`;
  return `${a.netns} (namespace dev ${a.netnsId.dev} ino ${a.netnsId.ino}), interface ${a.ifname}`;
}

function showText(e: Endpoint, r: EndpointRealization): string {
  return formatFields([
    ['id', e.id],
    ['name', e.name ?? '-'],
    ['tenant', e.tenant],
    ['network', e.network],
    ['host', e.host ?? '-'],
    ['attached', attachmentText(e)],
    ['labels', labelsText(e)],
    ['ports', portsText(e)],
    ['mac', e.mac],
    ['ip', ipWithPrefix(e)],
    ['gateway', e.gateway],
    ['mtu', e.mtu],
    ['status', e.statusDetail ? `${e.status} (${e.statusDetail})` : e.status],
    ['realized', e.attachment ? realizedText(r) : '-'],
    ['created', `${e.createdAt} (${formatAge(e.createdAt)})`],
    ['updated', `${e.updatedAt} (${formatAge(e.updatedAt)})`],
  ]);
}
