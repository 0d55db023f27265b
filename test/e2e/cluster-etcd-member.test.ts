/**
 * Issue 11, failure test (1), on `tenet lab up --hosts 4 --store etcd --controllers 2`: 500
 * attaches are sent at once through the agents of the 4 hosts (125 each, handoff attaches:
 * the agent makes the interface pair, so no namespace per workload is needed), and the etcd
 * member that leads the store's raft is killed with SIGKILL by PID after a random number of
 * them were acknowledged. Then:
 * - every attach succeeded or failed cleanly: a TenetError (a catalogued code and one line),
 *   never a hang or a 500. The client behaves as the CLI does (retryingAttach): only a call
 *   that got no answer is sent again, with the same idempotency key; an error answer is
 *   final. A failed attach leaves no endpoint;
 * - no address handed out twice: the answers' addresses are distinct, the store's endpoints'
 *   addresses are distinct, each reservation is held by the endpoint that has its address;
 * - every successful attach is `up`, and each host's interface for it exists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/base/async.js';
import { retryingAttach } from '../../src/cli/ep.js';
import { handoffIfname } from '../../src/datapath/names.js';
import { kernelSkip } from '../../src/datapath/testing/kernel-env.js';
import { isTenetError } from '../../src/model/errors.js';
import type { Endpoint } from '../../src/model/types.js';
import { ClusterLab } from '../support/cluster-lab.js';

const lab = new ClusterLab({ TENET_CLAIM_WINDOW_MS: '5000' });
const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const ATTACHES = 500;
const KILL_AFTER = 60 + Math.floor(Math.random() * 120);

/**
 * Exactly as the CLI does (src/cli/ep.ts): an attach is sent again with the same idempotency
 * key only while the agent cannot be reached or the connection drops before an answer; an
 * answer, even an error (STORE_UNAVAILABLE, CONTROLLER_UNREACHABLE), is final.
 */
async function attachRetrying(attach: () => Promise<Endpoint>): Promise<{ ep: Endpoint; tries: number }> {
  let tries = 0;
  const ep = await retryingAttach(() => {
    tries++;
    return attach();
  });
  return { ep, tries };
}

interface Outcome {
  id: string;
  host: string;
  ep?: Endpoint;
  err?: unknown;
}

describe('an etcd member killed during 500 concurrent attaches', { skip: kernelSkip('etcd member kill in an etcd lab'), timeout: 300_000 }, () => {
  before(async () => {
    await lab.up(4);
    await lab.setUp([{ tenant: 'acme', name: 'pool', subnet: '10.77.0.0/22' }], []);
  });
  after(() => lab.destroy());

  it('every attach succeeds or fails cleanly, no address twice, the successful ones are up', async (ctx) => {
    const api = lab.api(60_000);
    const leader = (await api.status()).store.members.find((m) => m.leader)?.name ?? 'e1';
    const agents = new Map(HOSTS.map((h) => [h, lab.agent(h, 180_000)]));
    let acks = 0;
    let retried = 0;
    let killed: Promise<number> | undefined;
    const outcomes: Outcome[] = await Promise.all(
      Array.from({ length: ATTACHES }, (_, i) => {
        const host = HOSTS[i % HOSTS.length]!;
        const id = `m${i}`;
        const attach = () => agents.get(host)!.attach({ tenant: 'acme', network: 'pool', handoff: true, id, idempotencyKey: id });
        return attachRetrying(attach).then(
          ({ ep, tries }) => {
            if (++acks === KILL_AFTER) killed = lab.kill(`etcd ${leader}`);
            if (tries > 1) retried++;
            return { id, host, ep };
          },
          (err: unknown) => ({ id, host, err }),
        );
      }),
    );
    for (const a of agents.values()) a.close();
    const pid = await (killed ?? lab.kill(`etcd ${leader}`));
    const ok = outcomes.filter((o) => o.ep);
    const failed = outcomes.filter((o) => o.err);
    ctx.diagnostic(`killed etcd ${leader} (the raft leader, pid ${pid}) after ${KILL_AFTER} acknowledgements: ${ok.length} attaches succeeded (${retried} of them on a retry with the same key), ${failed.length} failed`);

    const reasons = new Map<string, number>();
    for (const f of failed) {
      const key = isTenetError(f.err) ? `${f.err.code}: ${f.err.message.slice(0, 160)}` : String(f.err).slice(0, 160);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    for (const [why, n] of reasons) ctx.diagnostic(`${n} failed with ${why}`);
    try {
      for (const f of failed) {
        assert.ok(isTenetError(f.err), `${f.id} failed with a TenetError, not ${String(f.err)}`);
        assert.notEqual(f.err.code, 'INTERNAL', `${f.id}: ${f.err.message}`);
        assert.ok(!f.err.message.includes('\n'), `${f.id} says why in one line: ${f.err.message}`);
      }
      const answered = ok.map((o) => o.ep!.ip);
      assert.equal(new Set(answered).size, answered.length, 'no address was answered to two attaches');

      const eps = await api.listEndpoints({ tenant: 'acme', network: 'pool' });
      const ips = eps.map((e) => e.ip);
      assert.equal(new Set(ips).size, ips.length, 'no two endpoints of the store share an address');
      for (const r of await api.listAddresses('acme', 'pool')) {
        if (r.owner.kind === 'gateway') continue;
        const holder = eps.find((e) => e.id === r.owner.id);
        assert.equal(holder?.ip, r.ip, `${r.ip} is reserved for ${r.owner.kind} ${r.owner.id}, which holds it`);
      }
      for (const o of ok) assert.equal(eps.find((e) => e.id === o.id)?.ip, o.ep!.ip, `${o.id} is in the store with the address it was answered`);

      // A failed attach is rolled back once its claim window has passed: nothing half-made.
      const leftovers = await waitFor(async () => {
        const now = new Set((await api.listEndpoints({ tenant: 'acme', network: 'pool' })).map((e) => e.id));
        const left = failed.filter((f) => now.has(f.id)).map((f) => f.id);
        return left.length === 0 ? left : undefined;
      }, 90_000, 'failed attaches to be rolled back', 1000).catch(async () => {
        const now = await api.listEndpoints({ tenant: 'acme', network: 'pool' });
        return failed.flatMap((f) => now.filter((e) => e.id === f.id).map((e) => `${e.id} (${e.status}${e.statusDetail ? `: ${e.statusDetail}` : ''})`));
      });
      assert.deepEqual(leftovers, [], 'no endpoint is left of a failed attach');

      const notUp = await waitFor(async () => {
        const now = await api.listEndpoints({ tenant: 'acme', network: 'pool' });
        const bad = ok.filter((o) => now.find((e) => e.id === o.id)?.status !== 'up').map((o) => o.id);
        return bad.length === 0 ? bad : undefined;
      }, 120_000, 'every successful attach to be up', 1000).catch(() => ['(not all up)']);
      assert.deepEqual(notUp, [], 'every successful attach is up');
      for (const h of HOSTS) {
        const links = (await lab.run(['ip', '-n', lab.host(h).netns, '-o', 'link', 'show'])).stdout;
        const missing = ok.filter((o) => o.host === h && !links.includes(handoffIfname(o.id, 'eth0')));
        assert.deepEqual(missing.map((o) => o.id), [], `${h} has the interface of each of its successful attaches`);
      }
      assert.ok(ok.length > KILL_AFTER, 'attaches kept succeeding after the member was killed');
    } finally {
      api.close();
    }
  });
});
