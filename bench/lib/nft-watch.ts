/**
 * Sees a ruleset change land in a host's kernel, without polling: one `nft monitor rules`
 * per tenant namespace, each line timestamped when it arrives. The kernel emits these
 * notifications when the `nft -f` transaction commits, which is the moment packets start to
 * meet the new ruleset, so "the line arrived" is "enforced" plus a pipe hop (sub-ms idle).
 *
 * What a line says: the agent's forward chain begins with `ct state established,related
 * accept comment "tenet:<hash> policy"` (src/datapath/nft.ts), the hash covering the whole
 * compiled ruleset. A reload for a changed policy re-adds that rule with a NEW hash, so the
 * first line with a hash other than the one in force before a change marks its enforcement.
 * (`nft monitor` prints concatenated interval set elements as garbage in nftables 1.0.6, so
 * the rule elements themselves cannot serve as a marker; the hash can.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { inNs, now } from './kernel.js';

export interface HashSeen {
  t: number;
  hash: string;
}

export class NftWatch {
  readonly seen: HashSeen[] = [];
  private readonly child: ChildProcess;
  exited = false;

  constructor(readonly ns: string) {
    const argv = inNs(ns, ['nft', 'monitor', 'rules']);
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.once('exit', () => (this.exited = true));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const t = now();
      const m = /^add rule .*comment "tenet:([0-9a-f]{16})/.exec(line);
      if (m) this.seen.push({ t, hash: m[1]! });
    });
  }

  /** The first hash other than `before` seen after `t0`, if any yet. */
  firstNewAfter(t0: number, before: string | undefined): HashSeen | undefined {
    return this.seen.find((s) => s.t >= t0 && s.hash !== before);
  }

  /** Kills exactly the process this watch started. */
  stop(): void {
    if (!this.exited && this.child.pid) this.child.kill('SIGKILL');
  }
}
