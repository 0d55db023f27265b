/**
 * Convergence (issue #2): in a 4-host lab, attach a fresh namespace on h1 through h1's agent
 * and time until its address answers a ping from a probe container on h2: the agent on h1
 * realizes the port, the controller's watch carries the endpoint to h2, h3 and h4, and h2's
 * agent writes the FDB and neighbour entries that let the probe reach it over VXLAN.
 *
 * Baseline in the same run, interleaved: the same attach on h2 itself, reachable from the
 * same probe, so the ratio cross-host/same-host is the overlay and convergence cost.
 *
 * Also measured, in a second pass: attach on h1 until the controller says every host has
 * realized the endpoint (GET /v1/endpoints/:id/realized; agents report their realized
 * revision at once, then at most every 50 ms while changes keep coming: src/agent/realized.ts).
 *
 *   node dist/bench/convergence.js [--count 100]
 */
import { formatTable } from '../src/base/table.js';
import { fastArp, now } from './lib/kernel.js';
import { intArg, printReproduce, runBench } from './lib/main.js';
import { fmt, LATENCY_HEADERS, latencyRow, ratioRow } from './lib/stats.js';
import { detachAll, floorText, instrumentFloor, Series, seriesRows, timedAttach, timedRealization, type Attached } from './lib/timed.js';
import { startRig } from './lib/tenet.js';

const HOSTS = 4;

runBench('convergence', async (cleanup) => {
  const count = intArg('count', 100, 1000);
  printReproduce('convergence', `--count ${count}`);
  const rig = await startRig('bc', HOSTS, '10.160.0.0/16', cleanup);
  const probe = await rig.container('h2', 'probe');
  await fastArp(probe.ns);
  const [h1, h2] = [rig.agent('h1'), rig.agent('h2')];

  const cross = new Series('attach on h1, ping from h2');
  const same = new Series('attach on h2, ping from h2');
  const attached: Attached[] = [];
  const floorStart = await instrumentFloor(probe.ns, probe.ep.gateway);
  const started = now();
  for (let i = 1; i <= count; i++) {
    cleanup.check();
    const crossOne = () => timedAttach(cross, h1, `${rig.prefix}-x${i}`, probe.ns, attached);
    const sameOne = () => timedAttach(same, h2, `${rig.prefix}-s${i}`, probe.ns, attached);
    // Alternate which goes first, so neither always runs while the other's watch events settle.
    if (i % 2) await crossOne().then(sameOne);
    else await sameOne().then(crossOne);
    if (i % 25 === 0) console.log(`${i}/${count} iterations, ${fmt((now() - started) / 1000, 1)} s`);
  }

  console.log(`\nconvergence over ${count} iterations, ${HOSTS}-host lab, probe on h2; nearest-rank percentiles`);
  process.stdout.write(
    formatTable(LATENCY_HEADERS, [
      ...seriesRows(cross, ['cross-host: attach API call on h1', 'cross-host: attach on h1 until h2 probe gets an answer', 'cross-host: after the API call returned']),
      ...seriesRows(same, ['same-host (baseline): attach API call on h2', 'same-host (baseline): attach on h2 until h2 probe gets an answer', 'same-host (baseline): after the API call returned']),
    ]),
  );
  console.log('\nratio cross-host/same-host');
  process.stdout.write(formatTable(['what', 'p50', 'p95', 'p99'], [ratioRow('until ping answers', cross.reach, same.reach), ratioRow('attach API call', cross.api, same.api)]));
  console.log(`\ninstrument, included in every "until ping answers" figure:\n  ${floorText('h2 probe', floorStart, await instrumentFloor(probe.ns, probe.ep.gateway))}`);
  console.log(`failures: cross-host ${cross.errors.length}, same-host ${same.errors.length}`);

  const realized: number[] = [];
  const passes = Math.min(count, 30);
  for (let i = 1; i <= passes; i++) {
    cleanup.check();
    // Isolated attaches: agents report at most every 50 ms while changes keep coming, so
    // back-to-back attaches would partly measure that throttle, not one attach.
    await new Promise((r) => setTimeout(r, 200));
    await timedRealization(realized, h1, rig.controller, `${rig.prefix}-r${i}`, attached);
  }
  console.log(`
convergence as an API: attach on h1 until all ${HOSTS} hosts report the endpoint realized (${passes} isolated attaches, 200 ms apart)`);
  process.stdout.write(formatTable(LATENCY_HEADERS, [latencyRow('attach on h1 until realized on every host', realized, passes)]));

  const t1 = now();
  const n = attached.length;
  await detachAll(attached);
  console.log(`teardown (not timed): ${n} detaches in ${fmt((now() - t1) / 1000, 1)} s; the namespaces go with the lab`);
});
