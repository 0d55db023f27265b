/**
 * Test support: an agent on the fake kernel (no root), behind a runner the test chooses
 * (counting, gated...), with workload namespaces that are plain files the fake kernel knows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControllerClient } from '../../api/client.js';
import { silentLogger } from '../../base/logger.js';
import { Datapath } from '../../datapath/datapath.js';
import type { CommandRunner } from '../../datapath/runner.js';
import type { FakeKernel } from '../../datapath/testing/fake-kernel.js';
import { fakeOwnership } from '../../datapath/testing/ownership.js';
import { Agent, type AgentOptions } from '../agent.js';
import { fakeNamespaces } from './fake-namespaces.js';

/** Host h1 over `runner` (which drives `kernel`); `extra` overrides any option. */
export function agentOnFakeKernel(kernel: FakeKernel, runner: CommandRunner, controller: ControllerClient, nsPrefix: string, extra: Partial<AgentOptions> = {}): Agent {
  return new Agent({
    host: 'h1',
    nsPrefix,
    underlay: { name: 'default', vtep: '10.0.0.1', mtu: 1500 },
    controller,
    datapath: new Datapath(runner, silentLogger, { listNamespaces: () => kernel.listNamespaces(), ownership: fakeOwnership(kernel) }),
    logger: silentLogger,
    namespaces: fakeNamespaces(kernel),
    ...extra,
  });
}

/** A workload namespace: a file under `dir` that the fake kernel holds as a namespace. */
export function fakeWorkload(kernel: FakeKernel, dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  kernel.addWorkload(path);
  return path;
}
