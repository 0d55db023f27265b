/**
 * `tenet status [-o json]`: the cluster at a glance (GET /v1/status): the store and its
 * members, the controller replicas and the leader, hosts up and down, and the endpoints and
 * policies some host has not realized yet. Its exit code is a health check for scripts and
 * monitors: 1 when the store is unhealthy or no leader is known (after printing the status,
 * with the reason on stderr), 0 otherwise; unrealized objects and down hosts are reported,
 * not failed on (they are normal for a moment after every change).
 */
import { CommanderError, type Command } from 'commander';
import type { ClusterStatus } from '../api/types.js';
import { formatAge, formatJson, tableOf, type Column } from '../base/table.js';
import { globals, note, print, withController } from './context.js';

type Member = ClusterStatus['store']['members'][number];
type Replica = ClusterStatus['controllers'][number];
type Pending = ClusterStatus['unrealized']['first'][number];

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

const memberColumns: Column<Member>[] = [
  { header: 'MEMBER', value: (m) => m.name },
  { header: 'ENDPOINT', value: (m) => m.endpoint },
  { header: 'HEALTHY', value: (m) => yesNo(m.healthy) },
  { header: 'LEADER', value: (m) => yesNo(m.leader) },
  { header: 'ERROR', value: (m) => m.error },
];

const controllerColumns: Column<Replica>[] = [
  { header: 'CONTROLLER', value: (c) => c.id },
  { header: 'LEADER', value: (c) => yesNo(c.leader) },
  { header: 'VERSION', value: (c) => c.version },
  { header: 'STARTED', value: (c) => formatAge(c.startedAt) },
  { header: 'URLS', value: (c) => c.urls.join(',') },
];

const pendingColumns: Column<Pending>[] = [
  { header: 'KIND', value: (p) => p.kind },
  { header: 'ID', value: (p) => p.id },
  { header: 'TENANT', value: (p) => p.tenant },
  { header: 'REVISION', value: (p) => p.revision },
  { header: 'HOSTS BEHIND', value: (p) => `${p.hosts.join(',')}${p.behind > p.hosts.length ? ` (+${p.behind - p.hosts.length})` : ''}` },
];

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'show the store and its members, the controllers and their leader, hosts up/down, and objects not realized everywhere; ' +
        'exits 1 when the store is unhealthy or no leader is known',
    )
    .action(async (_opts: object, cmd: Command) => {
      const status = await withController(cmd, (c) => c.status());
      print(cmd, globals(cmd).output === 'json' ? formatJson(status) : statusText(status));
      const trouble = troubleOf(status);
      if (trouble) {
        note(cmd, `tenet: ${trouble}\n`);
        throw new CommanderError(1, 'tenet.status.unhealthy', trouble);
      }
    });
}

/** Why the cluster is not healthy, in one line; undefined when it is. */
export function troubleOf(s: ClusterStatus): string | undefined {
  if (!s.store.healthy) return `the ${s.store.backend} store is unhealthy${s.store.error ? `: ${s.store.error}` : ''}`;
  if (s.error) return s.error;
  if (!s.leader) return 'no controller is leader (none registered, or an election is under way: check again in a few seconds)';
  return undefined;
}

/** Sections separated by a blank line: the store, the controllers, the hosts, what is not realized yet. */
export function statusText(s: ClusterStatus): string {
  const st = s.store;
  const sections = [
    `store: ${st.backend}, ${st.healthy ? 'healthy' : `UNHEALTHY${st.error ? ` (${st.error})` : ''}`}, revision ${st.revision}\n${tableOf(st.members, memberColumns)}`,
    `controllers: ${s.controllers.length}, leader: ${s.leader ?? 'NONE'}\n${s.controllers.length > 0 ? tableOf(s.controllers, controllerColumns) : ''}`,
    `hosts: ${s.hosts.up} up, ${s.hosts.down} down${s.hosts.down > 0 ? `: ${namesText(s.hosts.downNames, s.hosts.down)}` : ''}\n`,
    `not realized everywhere: ${s.unrealized.endpoints} endpoints, ${s.unrealized.policies} policies\n${s.unrealized.first.length > 0 ? tableOf(s.unrealized.first, pendingColumns) : ''}`,
  ];
  if (s.error) sections.push(`error: ${s.error}\n`);
  return sections.join('\n');
}

const namesText = (names: string[], total: number): string => `${names.join(', ')}${total > names.length ? ` (+${total - names.length} more)` : ''}`;
