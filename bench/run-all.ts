/**
 * `make bench`: the three benchmarks of issue #2 and the DNS/DHCP ones of issue 10 in sequence, each in its own process (its
 * own lab, controller and cleanup), with the issue's counts. A signal is passed on to the
 * running benchmark, which cleans up; no further one starts.
 *
 *   node dist/bench/run-all.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES: { name: string; args: string[] }[] = [
  { name: 'throughput', args: ['--rounds', '3'] },
  { name: 'attach', args: ['--count', '200'] },
  { name: 'convergence', args: ['--count', '100'] },
  { name: 'dns', args: ['--rounds', '5'] },
  { name: 'dhcp', args: ['--count', '50', '--rounds', '2'] },
];

let interrupted = false;
let current: ChildProcess | undefined;
/** Passed on by PID: a benchmark ignores a second copy (Ctrl-C also reaches it directly). */
const onSignal = (sig: NodeJS.Signals) => {
  interrupted = true;
  if (current && current.exitCode === null && current.signalCode === null) current.kill(sig);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function run(name: string, args: string[]): Promise<number> {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
    current = child;
    child.once('error', () => resolve(127));
    child.once('close', (code) => resolve(code ?? 1));
  });
}

const results: [string, number, number][] = [];
for (const { name, args } of BENCHES) {
  if (interrupted) break;
  console.log(`\n===== ${name} ${args.join(' ')} =====`);
  const t0 = Date.now();
  results.push([name, await run(name, args), (Date.now() - t0) / 1000]);
}
console.log('\n===== summary =====');
for (const [name, code, secs] of results) console.log(`${name.padEnd(12)} ${code === 0 ? 'ok' : `exit ${code}`}  ${secs.toFixed(0)} s`);
process.exit(interrupted ? 130 : results.some(([, code]) => code !== 0) ? 1 : 0);
