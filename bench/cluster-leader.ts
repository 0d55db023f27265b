/**
 * How long leadership takes to move when the leader dies (issue 11): a lab on a 3-member etcd
 * with 2 controller replicas; each round SIGKILLs, by PID, the replica GET /v1/status names
 * leader, and times until the survivor's GET /v1/status (polled every --poll-ms) names
 * another leader; the killed one is then restarted (`lab restart`) and re-registered before
 * the next round. The bound is the leader lease's TTL (--lease-ms, given to the replicas as
 * TENET_LEADER_LEASE_MS; etcd rounds it up to whole seconds): the store ends the dead
 * leader's lease, deletes its key, and the survivor, watching it, takes it.
 * Baseline in the same run, interleaved: etcd's own raft leader killed the same way, timed
 * until a surviving member names a new one (etcd's election timeout, 1 s by default).
 *
 *   node dist/bench/cluster-leader.js [--rounds 5 --lease-ms 5000 --poll-ms 50]
 */
import { ControllerClient } from '../src/api/client.js';
import { sleep, waitFor } from '../src/base/async.js';
import { loadText, startClusterRig, type ClusterRig } from './lib/cluster.js';
import { raftStatus } from './lib/etcd-status.js';
import { now } from './lib/kernel.js';
import { intArg, printReproduce, runBench } from './lib/main.js';
import { fmt, median } from './lib/stats.js';

const MOVE_BOUND_MS = 60_000;

runBench('cluster-leader', async (cleanup) => {
  const rounds = intArg('rounds', 5, 50);
  const leaseMs = intArg('lease-ms', 5000, 120_000);
  const pollMs = intArg('poll-ms', 50, 1000);
  printReproduce('cluster-leader', `--rounds ${rounds} --lease-ms ${leaseMs} --poll-ms ${pollMs}`);
  console.log(`start: ${loadText()}`);
  process.env.TENET_LEADER_LEASE_MS = String(leaseMs); // inherited by the lab's replicas
  const rig = await startClusterRig('cl', 1, 2, '10.153.0.0/16', cleanup);
  const tenet: number[] = [];
  const raft: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    cleanup.check();
    const t = await moveControllerLeader(rig, pollMs);
    tenet.push(t.ms);
    cleanup.check();
    const e = await moveRaftLeader(rig, pollMs);
    raft.push(e.ms);
    console.log(`round ${r}/${rounds}: controller ${t.killed} killed → ${t.next} leads after ${fmt(t.ms, 0)} ms; etcd ${e.killed} killed → new raft leader after ${fmt(e.ms, 0)} ms; ${loadText()}`);
  }
  const line = (xs: number[]) => `median ${fmt(median(xs), 0)} ms, max ${fmt(Math.max(...xs), 0)} ms, min ${fmt(Math.min(...xs), 0)} ms (${xs.map((x) => fmt(x, 0)).join(', ')})`;
  console.log(`\nleadership moved after SIGKILL of the leader, ${rounds} rounds, polled every ${pollMs} ms:`);
  console.log(`  Tenet controller leader (lease TTL ${leaseMs} ms): ${line(tenet)}`);
  console.log(`  baseline, etcd raft leader (election timeout 1000 ms): ${line(raft)}`);
  console.log(`  ratio of medians Tenet / etcd raft: ${fmt(median(tenet) / median(raft), 2)}; Tenet median / lease TTL: ${fmt(median(tenet) / leaseMs, 2)}`);
  console.log(`end: ${loadText()}`);
});

/** Kills the leading replica, times until the other one is named leader, restarts the killed one. */
async function moveControllerLeader(rig: ClusterRig, pollMs: number): Promise<{ ms: number; killed: string; next: string }> {
  const byUrl = (urls: string[]) => rig.controllers.find((c) => urls.includes(`unix:${c.socket}`))?.name;
  const status = await waitFor(async () => {
    const s = await rig.controller.status().catch(() => undefined);
    return s?.leader && s.controllers.length === rig.controllers.length ? s : undefined;
  }, MOVE_BOUND_MS, 'a leader and every replica registered', 100);
  const oldId = status.leader!;
  const killed = byUrl(status.controllers.find((c) => c.id === oldId)!.urls)!;
  const survivor = rig.controllers.find((c) => c.name !== killed)!;
  const client = new ControllerClient(`unix:${survivor.socket}`, 5000);
  try {
    const pid = rig.processes().find((p) => p.name === `controller ${killed}`)!.pid!;
    const t0 = now();
    process.kill(pid, 'SIGKILL');
    const nextId = await waitFor(async () => {
      const s = await client.status().catch(() => undefined);
      return s?.leader && s.leader !== oldId ? s.leader : undefined;
    }, MOVE_BOUND_MS, 'another controller to lead', pollMs);
    const ms = now() - t0;
    const s = await client.status();
    await rig.lab.restartAgent(killed);
    return { ms, killed, next: byUrl(s.controllers.find((c) => c.id === nextId)?.urls ?? []) ?? nextId };
  } finally {
    client.close();
  }
}

/** Kills the raft leader member, times until a survivor names another, restarts it and waits for a healthy raft. */
async function moveRaftLeader(rig: ClusterRig, pollMs: number): Promise<{ ms: number; killed: string }> {
  const members = rig.lab.state().cluster!.etcd;
  const views = async () => Promise.all(members.map(async (m) => ({ m, v: await raftStatus(m.clientUrl) })));
  const before = await waitFor(async () => {
    const vs = await views();
    const leader = vs[0]?.v?.leader;
    return leader && leader !== '0' && vs.every((x) => x.v?.leader === leader) ? vs : undefined;
  }, MOVE_BOUND_MS, 'every etcd member to agree on a leader', 100);
  const oldLeader = before[0]!.v!.leader;
  const victim = before.find((x) => x.v!.member === oldLeader)!.m;
  const others = members.filter((m) => m !== victim);
  const pid = rig.processes().find((p) => p.name === `etcd ${victim.name}`)!.pid!;
  const t0 = now();
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => {
    const vs = await Promise.all(others.map((m) => raftStatus(m.clientUrl, 500)));
    return vs.some((v) => v && v.leader !== '0' && v.leader !== oldLeader) ? true : undefined;
  }, MOVE_BOUND_MS, 'a new etcd raft leader', pollMs);
  const ms = now() - t0;
  await rig.lab.restartAgent(victim.name);
  await sleep(500);
  return { ms, killed: victim.name };
}
