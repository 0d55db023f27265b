/**
 * A process of simulated agents: the real Agent class of the tree under test, many per
 * process, each with its own ControllerClient on the controller's socket and a fake kernel
 * (fakes.ts). Its cache is hooked to count what arrives and to time the arrival of marker
 * endpoints; results go to the parent over IPC. It exits when the parent says so or goes away.
 */
import type { Agent } from '../../src/agent/agent.js';
import type { WatchMessage } from '../../src/api/types.js';
import { sleep } from '../../src/base/async.js';
import { fakeDatapath, fakeNamespaces } from './fakes.js';
import { MARKER_PREFIX, now, type Counters, type FromSim, type SimHost, type ToSim } from './protocol.js';
import { loadTree, type Tree } from './tree.js';

const START_ATTEMPTS = 10;
const agents = new Map<string, Agent>();
const counters = new Map<string, Counters>();
let probes = new Set<string>();
let tree: Tree;
let socket = '';
let lastWarning: string | undefined;

const send = (m: FromSim) => process.send?.(m);
const fresh = (): Counters => ({ messages: {}, bytes: 0, lists: 0, warnings: 0 });

function countingLogger(host: string) {
  const warn = (obj: object, msg?: string) => {
    counters.get(host)!.warnings++;
    lastWarning = `${host}: ${msg ?? ''} ${JSON.stringify(obj).slice(0, 200)}`;
  };
  const logger = { info: () => {}, debug: () => {}, warn, error: warn, child: () => logger };
  return logger;
}

/** The agent of `host`, hooked; `onList` sees every full list with its size. */
function makeAgent(h: SimHost, onList: (bytes: number) => void): Agent {
  if (!counters.has(h.name)) counters.set(h.name, fresh());
  const agent = new tree.Agent({
    host: h.name,
    nsPrefix: 'sim-',
    underlay: { name: 'default', vtep: h.vtep, mtu: 1500 },
    controller: new tree.ControllerClient(`unix:${socket}`, 30_000),
    datapath: fakeDatapath(),
    logger: countingLogger(h.name),
    claimWindowMs: 24 * 3600_000, // never roll back: nothing here is a crashed attach
    namespaces: fakeNamespaces(),
  });
  const seen = new Set<string>();
  const apply = agent.cache.apply.bind(agent.cache);
  agent.cache.apply = (m: WatchMessage) => {
    const c = counters.get(h.name)!;
    const key = m.type === 'put' || m.type === 'delete' ? `${m.type} ${m.kind}` : m.type;
    c.messages[key] = (c.messages[key] ?? 0) + 1;
    if (probes.has(h.name)) c.bytes += JSON.stringify(m).length + 1;
    if (m.type === 'put' && m.kind === 'endpoint') {
      const id = (m.object as { id: string }).id;
      if (id.startsWith(MARKER_PREFIX) && !seen.has(id)) (seen.add(id), send({ type: 'marker', host: h.name, id, t: now() }));
    }
    return apply(m);
  };
  const reset = agent.cache.reset.bind(agent.cache);
  agent.cache.reset = (snap) => {
    counters.get(h.name)!.lists++;
    onList(JSON.stringify(snap).length);
    return reset(snap);
  };
  return agent;
}

async function startAll(hosts: SimHost[], width: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const h = hosts[next++]!;
      await new Promise<void>((resolve, reject) => {
        let first = true;
        let retries = 0;
        const agent = makeAgent(h, (bytes) => {
          if (!first) return;
          first = false;
          send({ type: 'listed', host: h.name, t: now(), bytes, retries });
          resolve();
        });
        agents.set(h.name, agent);
        // A controller too busy to answer a registration fails the start: start again, as a
        // supervisor restarts a real agent, and count it.
        const attempt = (): Promise<void> =>
          agent.start().catch(async (err: Error) => {
            if (++retries >= START_ATTEMPTS) throw err;
            await sleep(1000);
            return attempt();
          });
        attempt().catch(reject);
      });
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** Stops the agent of `host` and starts a new one: its full list, timed from its start. */
function relist(host: string): void {
  const old = agents.get(host)!;
  old.stop();
  old.opts.controller.close();
  const t0 = now();
  let first = true;
  const agent = makeAgent({ name: host, vtep: old.opts.underlay.vtep }, (bytes) => {
    if (first) send({ type: 'relisted', host, ms: now() - t0, bytes });
    first = false;
  });
  agents.set(host, agent);
  agent.start().catch((err: Error) => send({ type: 'failed', error: `relist ${host}: ${err.message}` }));
}

function stopAll(): void {
  for (const a of agents.values()) {
    a.stop();
    a.opts.controller.close();
  }
  process.exit(0);
}

process.on('disconnect', stopAll);
process.on('message', (m: ToSim) => {
  void (async () => {
    try {
      if (m.cmd === 'start') {
        tree = await loadTree(m.tree);
        socket = m.socket;
        probes = new Set(m.probes);
        await startAll(m.hosts, m.startWidth);
      } else if (m.cmd === 'window') {
        for (const host of counters.keys()) counters.set(host, fresh());
      } else if (m.cmd === 'counters') {
        send({ type: 'counters', counters: Object.fromEntries(counters), lastWarning });
      } else if (m.cmd === 'relist') {
        if (agents.has(m.host)) relist(m.host); // sent to every process; one holds the host
      } else if (m.cmd === 'stop') {
        stopAll();
      }
    } catch (err) {
      send({ type: 'failed', error: (err as Error).message });
    }
  })();
});
