/**
 * The network sync against fakes of the controller and dockerd: a binding lost with the
 * state file is rebuilt with dockerd's `--internal` flag (the containers of an internal
 * network must keep having no default route); a network created without `-o tenant=` and
 * named NAME/TENANT is bound to that tenant's network (Contiv's form), the default tenant
 * not needed; and one whose tenant is missing is removed from dockerd.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import type { Network } from '../model/types.js';
import type { DriverContext } from './context.js';
import type { DockerEngine, DockerNetwork } from './engine.js';
import { networkHandlers } from './network-driver.js';
import { NetworkSync } from './network-sync.js';
import { DriverState } from './state.js';

function fakes(tenants: string[], docker: DockerNetwork[]) {
  const nets: Network[] = [];
  const removed: string[] = [];
  const controller = {
    getTenant: async (t: string) => (tenants.includes(t) ? { name: t } : Promise.reject(new TenetError('TENANT_NOT_FOUND', `tenant ${t} not found`, 'create it'))),
    listNetworks: async () => nets,
    getNetwork: async (t: string, n: string) => nets.find((x) => x.tenant === t && x.name === n) ?? Promise.reject(new TenetError('NETWORK_NOT_FOUND', 'no', 'no')),
    createNetwork: async (t: string, r: { name: string; subnet: string; gateway?: string }) => {
      if (!tenants.includes(t)) throw new TenetError('TENANT_NOT_FOUND', `tenant ${t} not found`, 'create it');
      const n = { id: r.name, tenant: t, name: r.name, subnet: r.subnet, gateway: r.gateway ?? '10.0.0.1', mtu: 0, vni: 7, createdAt: '' };
      nets.push(n);
      return n;
    },
  };
  const engine = {
    listNetworks: async () => docker,
    removeNetwork: async (id: string) => void removed.push(id),
    createNetwork: async () => undefined,
  };
  const ctx = { controller, agent: {}, state: new DriverState(), logger: silentLogger, defaultTenant: 'default', bindWaitMs: 0, kickSync: () => undefined } as unknown as DriverContext;
  const sync = new NetworkSync(ctx, engine as unknown as DockerEngine, silentLogger);
  return { ctx, sync, nets, removed };
}

const dockerNet = (id: string, name: string, extra: Partial<DockerNetwork> = {}): DockerNetwork => ({
  Id: id, Name: name, Driver: 'tenet', Options: {}, IPAM: { Driver: 'tenet', Config: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }] }, ...extra,
});

test('a binding lost with the state file keeps --internal (read from dockerd), and a non-internal one stays non-internal', async () => {
  const { ctx, sync } = fakes(['admin'], [dockerNet('d1', 'inner', { Internal: true, Options: { tenant: 'admin' } }), dockerNet('d2', 'outer', { Options: { tenant: 'admin' } })]);
  await sync.round();
  assert.equal(ctx.state.bindings.get('d1')?.internal, true);
  assert.equal(ctx.state.bindings.get('d2')?.internal, false, 'positive control');
});

/** What dockerd does for `docker network create -d tenet --ipam-driver tenet --subnet ... NAME` with these -o options. */
async function create(ctx: DriverContext, generic: Record<string, string>): Promise<void> {
  const handlers = networkHandlers(ctx);
  ctx.state.pools.set('p1', { id: 'p1', subnet: '10.0.0.0/24', aux: [] });
  await handlers['/NetworkDriver.CreateNetwork']!({ NetworkID: 'd1', Options: { 'com.docker.network.generic': generic }, IPv4Data: [{ Pool: '10.0.0.0/24', Gateway: '10.0.0.1/24' }] });
  // Judged by the round after the one that saw it made.
  ctx.state.bindings.get('d1')!.createdAt = new Date(Date.now() - 1000).toISOString();
}

test('docker network create NAME/TENANT without -o tenant= and without a default tenant: bound to that tenant\'s network', async () => {
  const { ctx, sync, nets, removed } = fakes(['admin'], [dockerNet('d1', 'pink/admin')]);
  await create(ctx, {});
  await sync.round();
  assert.deepEqual(nets.map((n) => `${n.tenant}/${n.name}`), ['admin/pink']);
  assert.equal(ctx.state.bindings.get('d1')?.network, 'pink');
  assert.deepEqual(removed, []);
});

test('without -o tenant= a plain NAME needs the default tenant: missing, the docker network is removed (NAME/TENANT works beside it)', async () => {
  const { ctx, sync, nets, removed } = fakes(['admin'], [dockerNet('d1', 'plain')]);
  await create(ctx, {});
  await sync.round();
  assert.deepEqual(nets, []);
  assert.deepEqual(removed, ['d1']);
  assert.equal(ctx.state.bindings.has('d1'), false);
});

test('-o tenant= is still checked at create, and must agree with the name', async () => {
  const { ctx, sync, removed } = fakes(['admin', 'blue'], [dockerNet('d1', 'pink/admin')]);
  await assert.rejects(create(ctx, { tenant: 'nope' }), /no tenant nope/);
  await create(ctx, { tenant: 'blue' });
  await sync.round();
  assert.deepEqual(removed, ['d1'], 'the name says admin, -o tenant= says blue');
});
