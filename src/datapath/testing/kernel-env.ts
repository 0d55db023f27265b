/**
 * Test support: the one gate in front of every test that needs the real kernel. Without
 * root or a tool such a test is skipped, as a developer's laptop needs; but when the run is
 * as root or in CI (CI=true) the environment was meant to run them, so a skip would hide a
 * broken machine: then the gate registers a failing test that says what is missing.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

/** Every program the kernel tests (datapath, lab, e2e) run. */
export const KERNEL_TOOLS = ['ip', 'bridge', 'nft', 'nsenter', 'ping', 'timeout'];

export interface KernelEnv {
  root: boolean;
  ci: boolean;
  /** True when the program is on the PATH and executable. */
  has(tool: string): boolean;
}

/** What is missing for kernel tests here, or undefined when nothing is. */
export function kernelProblem(env: KernelEnv, tools = KERNEL_TOOLS): string | undefined {
  const missing = tools.filter((t) => !env.has(t));
  const problems = [...(env.root ? [] : ['not running as root']), ...(missing.length ? [`missing ${missing.join(', ')}`] : [])];
  return problems.length ? problems.join('; ') : undefined;
}

/** A skip is only honest where nobody expected the kernel tests to run. */
export function skipIsFailure(env: KernelEnv): boolean {
  return env.root || env.ci;
}

export function currentEnv(): KernelEnv {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  const executable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return {
    root: process.getuid?.() === 0,
    ci: /^(true|1)$/i.test(process.env.CI ?? ''),
    has: (tool) => dirs.some((d) => executable(join(d, tool))),
  };
}

/**
 * Use as the `skip` option of a kernel test or suite: false when it can run; otherwise the
 * reason, and when that skip would hide a broken environment, a failing test is added too.
 */
export function kernelSkip(what: string, tools = KERNEL_TOOLS, env = currentEnv()): string | false {
  const problem = kernelProblem(env, tools);
  if (!problem) return false;
  if (skipIsFailure(env)) {
    test(`${what}: the kernel tests can run here`, () => {
      throw new Error(`${what} would be skipped (${problem}), but this run is ${env.root ? 'as root' : 'in CI'}: fix the environment`);
    });
  }
  return `needs the kernel: ${problem}`;
}
