/**
 * Attach latency as a user of the agent sees it, minus the kernel: the real `attach()` of the
 * tree under test on one extra simulated host, run in the benchmark's own process, one attach
 * after another into the network of a given tenant.
 */
import { sleep } from '../../src/base/async.js';
import { fakeDatapath, fakeNamespaces, simNetnsPath } from './fakes.js';
import { NETWORK } from './population.js';
import { now } from './protocol.js';
import type { Tree } from './tree.js';

export const ATTACH_HOST = 'sim-attach';

export async function measureAttaches(tree: Tree, socket: string, tenant: string, count: number, nsBase: number): Promise<{ ms: number[]; listMs: number }> {
  const controller = new tree.ControllerClient(`unix:${socket}`, 60_000);
  const agent = new tree.Agent({
    host: ATTACH_HOST,
    nsPrefix: 'sim-',
    underlay: { name: 'default', vtep: '10.201.0.1', mtu: 1500 },
    controller,
    datapath: fakeDatapath(),
    logger: tree.silentLogger,
    namespaces: fakeNamespaces(),
  });
  let listedAt = 0;
  const reset = agent.cache.reset.bind(agent.cache);
  agent.cache.reset = (snap) => {
    listedAt ||= now();
    reset(snap);
  };
  const t0 = now();
  try {
    await agent.start();
    while (!listedAt && now() - t0 < 300_000) await sleep(10);
    if (!listedAt) throw new Error('the attach agent did not list within 5 min');
    const ms: number[] = [];
    for (let i = 0; i < count; i++) {
      const a0 = now();
      await tree.attach(agent, { tenant, network: NETWORK, netns: simNetnsPath(nsBase + i) }, tree.silentLogger);
      ms.push(now() - a0);
    }
    return { ms, listMs: listedAt - t0 };
  } finally {
    agent.stop();
    controller.close();
  }
}
