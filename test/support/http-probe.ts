/**
 * Test support: GET / over HTTP from inside a namespace, the probe of every published-port
 * test (ep expose, Docker -p, CNI portMappings, podman -p). busybox nc is the client:
 * busybox-static's wget crashes on these machines.
 */
import assert from 'node:assert/strict';
import { waitFor } from '../../src/base/async.js';
import type { CommandRunner } from '../../src/datapath/runner.js';

/** What GET http://ip:port/ answers from namespace `ns`, or undefined when nothing does. */
export async function fetchFrom(runner: CommandRunner, ns: string, ip: string, port: number): Promise<string | undefined> {
  const r = await runner.run(['ip', 'netns', 'exec', ns, 'timeout', '5', 'busybox', 'nc', '-w', '2', ip, String(port)], { input: 'GET / HTTP/1.0\r\n\r\n', allowFail: true });
  const body = r.stdout.split('\r\n\r\n')[1];
  return r.code === 0 && body ? body.trim() : undefined;
}

/** Polls until `ns` gets `want` from ip:port (an agent realizes ports as it reconciles), then asserts it. */
export async function untilServed(runner: CommandRunner, ns: string, ip: string, port: number, want: string | undefined, what: string, timeoutMs = 15_000): Promise<void> {
  let got: string | undefined;
  await waitFor(async () => ((got = await fetchFrom(runner, ns, ip, port)) === want ? true : undefined), timeoutMs, what, 100).catch(() => undefined);
  assert.equal(got, want, what);
}
