/** How the lab commands print: tables for people, the raw objects with `-o json`. */
import { formatJson, tableOf, type OutputFormat } from '../base/table.js';
import type { DownReport } from './down.js';
import type { LabListing } from './lab.js';
import type { LabState } from './state.js';

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

export function renderUp(format: OutputFormat, state: LabState): string {
  if (format === 'json') return formatJson(state);
  const hosts = tableOf(state.hosts, [
    { header: 'HOST', value: (h) => h.name },
    { header: 'NETNS', value: (h) => h.netns },
    { header: 'VTEP', value: (h) => h.vtep },
    { header: 'AGENT PID', value: (h) => h.pid },
    { header: 'LOG', value: (h) => h.log },
    ...(state.hosts.some((h) => h.docker) ? [{ header: 'DOCKER', value: (h: LabState['hosts'][number]) => h.docker?.socket }] : []),
  ]);
  const cluster = state.cluster
    ? `etcd ${state.cluster.store}, controllers ${state.cluster.controllers.map((c) => c.name).join(', ')}; for the CLI: eval "$(tenet lab env)"\n`
    : '';
  return `lab ${state.prefix} is up with ${state.hosts.length} host(s) on underlay ${state.underlayCidr}\n${cluster}${hosts}`;
}

export function renderLs(format: OutputFormat, l: LabListing): string {
  if (format === 'json') return formatJson(l);
  if (!l.up) return `no lab with prefix ${l.prefix} is up\n`;
  const hosts = tableOf(l.hosts, [
    { header: 'NAME', value: (h) => h.name },
    { header: 'NETNS', value: (h) => h.netns },
    { header: 'VTEP', value: (h) => h.vtep },
    { header: 'PID', value: (h) => h.pid },
    { header: 'ALIVE', value: (h) => yesNo(h.alive) },
    ...(l.hosts.some((h) => h.dockerSocket) ? [{ header: 'DOCKER', value: (h: LabListing['hosts'][number]) => h.dockerSocket }] : []),
  ]);
  const containers = tableOf(l.containers, [
    { header: 'NAME', value: (c) => c.name },
    { header: 'HOST', value: (c) => c.host },
    { header: 'TENANT', value: (c) => c.tenant },
    { header: 'NETWORK', value: (c) => c.network },
    { header: 'IP', value: (c) => `${c.ip}/${c.prefixLen}` },
    { header: 'ENDPOINT', value: (c) => c.endpointId },
  ]);
  const processes = tableOf(l.processes, [
    { header: 'NAME', value: (p) => p.name },
    { header: 'PID', value: (p) => p.pid },
    { header: 'ALIVE', value: (p) => yesNo(p.alive) },
    { header: 'LOG', value: (p) => p.log },
  ]);
  const api = l.store ? `STORE ${l.store}\nAPI ${l.api}\n` : '';
  return `${api}HOSTS\n${hosts}\nCONTAINERS\n${containers}\nPROCESSES\n${processes}`;
}

export function renderDown(format: OutputFormat, prefix: string, r: DownReport): string {
  if (format === 'json') return formatJson(r);
  const nothing = r.dockerdsStopped.length + r.agentsStopped.length + r.controllersStopped.length + r.etcdStopped.length + r.namespacesDeleted.length + r.hostsForgotten.length === 0;
  if (nothing) return `no lab with prefix ${prefix} was up; nothing to remove\n`;
  const forgotten = r.hostsForgotten.length ? `; controller forgot ${r.hostsForgotten.join(', ')}` : '';
  const dockerds = r.dockerdsStopped.length ? ` and ${r.dockerdsStopped.length} dockerd(s)` : '';
  const cluster = r.controllersStopped.length + r.etcdStopped.length ? `, ${r.controllersStopped.length} controller(s) and ${r.etcdStopped.length} etcd member(s)` : '';
  return `lab ${prefix} is down: stopped ${r.agentsStopped.length} agent(s)${dockerds}${cluster}, deleted ${r.namespacesDeleted.length} namespace(s)${forgotten}\n`;
}
