/**
 * Test support: the datapath Tenet must never be, for mutation checks. Its first set()
 * deletes every namespace of the agent's prefix and rebuilds from nothing, as the first
 * sketch of the datapath did (datapath.ts, design history). A no-loss restart test must
 * fail with it; the agent e2e test shows that it does.
 */
import { silentLogger } from '../../src/base/logger.js';
import { Datapath, type SetResult } from '../../src/datapath/datapath.js';
import { listNamespaces } from '../../src/datapath/observe.js';
import type { HostPlan } from '../../src/datapath/plan.js';
import type { CommandRunner } from '../../src/datapath/runner.js';

export class FlushingDatapath extends Datapath {
  private flushed = false;

  constructor(private readonly kernel: CommandRunner, hostNs: string) {
    super(kernel, silentLogger, { hostNs });
  }

  override async set(plan: HostPlan, onlyTenants?: Set<string>): Promise<SetResult> {
    if (!this.flushed) {
      this.flushed = true;
      for (const ns of (await listNamespaces()).filter((n) => n.startsWith(plan.nsPrefix))) await this.kernel.run(['ip', 'netns', 'del', ns]);
    }
    return super.set(plan, onlyTenants);
  }
}
