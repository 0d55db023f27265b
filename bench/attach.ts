/**
 * Attach latency (issue #2): N fresh namespaces attached through the agent of a one-host
 * lab, each timed from just before the agent API call until the new address answers a ping
 * from a probe container on the same host and network; the API call alone too. Baseline in
 * the same run, interleaved: the reference CNI bridge plugin (host-local IPAM) over the same
 * number of fresh namespaces, ADD alone and ADD until a probe on its bridge gets an answer.
 * Teardown (detach, DEL, namespaces) is not timed. Figures are printed, never asserted.
 *
 *   node dist/bench/attach.js [--count 200]
 */
import { join } from 'node:path';
import { formatTable } from '../src/base/table.js';
import { printBreakdown } from './lib/breakdown.js';
import { CniBridge, ensureCniPlugins } from './lib/cni.js';
import { addNamespaces, fastArp, now } from './lib/kernel.js';
import { intArg, message, printReproduce, runBench } from './lib/main.js';
import { fmt, LATENCY_HEADERS, ratioRow } from './lib/stats.js';
import { detachAll, floorText, instrumentFloor, Series, seriesRows, timed, timedAttach, type Attached } from './lib/timed.js';
import { startRig } from './lib/tenet.js';

runBench('attach', async (cleanup) => {
  const count = intArg('count', 200, 2000);
  printReproduce('attach', `--count ${count}`);
  await ensureCniPlugins();
  const rig = await startRig('ba', 1, '10.150.0.0/16', cleanup);
  const probe = await rig.container('h1', 'probe');
  await fastArp(probe.ns);
  const agent = rig.agent('h1');

  const cni = new CniBridge(rig.prefix, rig.dir, '10.210.0.0/16');
  await cni.createHost();
  const cniProbe = `${rig.prefix}-cniprobe`;
  await addNamespaces([cniProbe]);
  const cniGateway = (await cni.add(cniProbe, cniProbe)).gateway;
  await fastArp(cniProbe);
  const floorStart = { tenet: await instrumentFloor(probe.ns, probe.ep.gateway), cni: await instrumentFloor(cniProbe, cniGateway) };

  const tenet = new Series('tenet');
  const base = new Series('CNI bridge');
  const attached: Attached[] = [];
  const added: { ns: string; ip: string }[] = [];
  const cniOne = (i: number) =>
    timed(base, `${rig.prefix}-n${i}`, cniProbe, async () => {
      const ns = `${rig.prefix}-n${i}`;
      const { ip } = await cni.add(ns, ns);
      added.push({ ns, ip });
      return ip;
    });
  const started = now();
  for (let i = 1; i <= count; i++) {
    cleanup.check();
    const tenetOne = () => timedAttach(tenet, agent, `${rig.prefix}-a${i}`, probe.ns, attached);
    // Alternate which goes first, so neither always runs right after the other's work.
    if (i % 2) await tenetOne().then(() => cniOne(i));
    else await cniOne(i).then(tenetOne);
    if (i % 50 === 0) console.log(`${i}/${count} attaches each, ${fmt((now() - started) / 1000, 1)} s`);
  }

  const floorEnd = { tenet: await instrumentFloor(probe.ns, probe.ep.gateway), cni: await instrumentFloor(cniProbe, cniGateway) };
  report(count, tenet, base);
  printBreakdown(attached, join(rig.dir, 'controller.log'), rig.lab.state().hosts[0]!.log);
  console.log('\ninstrument, included in every "until ping answers" figure:');
  console.log(`  ${floorText('tenet probe', floorStart.tenet, floorEnd.tenet)}`);
  console.log(`  ${floorText('CNI probe', floorStart.cni, floorEnd.cni)}`);
  console.log(`failures: tenet ${tenet.errors.length}, CNI ${base.errors.length}`);

  const t1 = now();
  const n = attached.length + added.length;
  await detachAll(attached);
  for (const a of added) await cni.del(a.ns, a.ns).catch((err) => console.error(message(err)));
  await cni.del(cniProbe, cniProbe).catch(() => undefined);
  console.log(`teardown (not timed): ${n} detaches and DELs in ${fmt((now() - t1) / 1000, 1)} s; the namespaces go with the lab`);
});

function report(count: number, tenet: Series, base: Series): void {
  console.log(`\nattach latency over ${count} fresh namespaces each, interleaved; nearest-rank percentiles`);
  process.stdout.write(
    formatTable(LATENCY_HEADERS, [
      ...seriesRows(tenet, ['tenet: attach API call (agent h1)', 'tenet: attach until ping answers', 'tenet: after the API call returned']),
      ...seriesRows(base, ['CNI bridge (baseline): ADD', 'CNI bridge (baseline): ADD until ping answers', 'CNI bridge (baseline): after ADD returned']),
    ]),
  );
  console.log('\nratio tenet/CNI');
  process.stdout.write(
    formatTable(['what', 'p50', 'p95', 'p99'], [ratioRow('attach API / ADD', tenet.api, base.api), ratioRow('until ping answers', tenet.reach, base.reach)]),
  );
}
