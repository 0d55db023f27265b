/**
 * The processes the lab starts (one agent per simulated host) and how it stops them.
 * Agents run detached, in their own session, so they outlive `tenet lab up`. A PID is only
 * signalled after /proc/PID/cmdline shows it is still our agent: PIDs are reused, and a
 * stale state file must never make the lab kill someone else's process.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../base/async.js';
import { TenetError } from '../model/errors.js';

/** The command line of a live process, arguments joined by spaces; '' if gone or a zombie. */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** An agent of this lab host: `… agent … --ns-prefix <nsPrefix> …`. */
export function isLabAgent(cmdline: string, nsPrefix: string): boolean {
  const padded = ` ${cmdline} `;
  return padded.includes(' agent ') && padded.includes(` --ns-prefix ${nsPrefix} `);
}

export function agentAlive(pid: number | undefined, nsPrefix: string): boolean {
  return pid !== undefined && isLabAgent(readCmdline(pid), nsPrefix);
}

/** An agent of any host of the lab `prefix` (the prefix has no dash, so no other lab matches). */
export function isAnyLabAgent(cmdline: string, prefix: string): boolean {
  const padded = ` ${cmdline} `;
  return padded.includes(' agent ') && new RegExp(` --ns-prefix ${prefix}-h\\d+- `).test(padded);
}

/** Agents of this lab found by command line, for `down` after the state file is lost. */
export function scanLabAgents(prefix: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .map(Number)
    .filter((pid) => isAnyLabAgent(readCmdline(pid), prefix));
}

/** Starts `argv` detached with stdout and stderr appended to `logPath`; returns its PID. */
export function launchDetached(argv: string[], logPath: string): Promise<number> {
  const fd = openSync(logPath, 'a');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
    child.once('error', (err) => reject(new TenetError('LAB_ERROR', `cannot start ${argv[0]}: ${err.message}`, 'is iproute2 installed?')));
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  }).finally(() => closeSync(fd));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone: that is what we wanted
  }
}

async function waitGone(pids: number[], stillOurs: (pid: number) => boolean, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(stillOurs);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(stillOurs);
  }
  return left;
}

/**
 * TERM, up to `graceMs` for a clean exit (the agent leaves the kernel as it is and closes
 * its socket), then KILL. `stillOurs` is re-checked before each signal.
 */
export async function stopProcesses(pids: number[], stillOurs: (pid: number) => boolean, graceMs = 5000): Promise<number[]> {
  const ours = pids.filter(stillOurs);
  ours.forEach((pid) => signal(pid, 'SIGTERM'));
  const stubborn = await waitGone(ours, stillOurs, graceMs);
  stubborn.forEach((pid) => signal(pid, 'SIGKILL'));
  await waitGone(stubborn, stillOurs, 2000);
  return ours;
}

/**
 * The last two lines of a process's log, in one short line: what a process that exited while
 * starting said last, so the error (and a CI transcript) carries the cause, not only a path.
 */
export function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-2).join(' | ').slice(-400) || 'empty log';
  } catch {
    return 'no log';
  }
}
