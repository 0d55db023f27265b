/**
 * Test support: FakeKernel, an in-memory kernel behind the CommandRunner interface. It runs
 * the exact argv and batches the datapath emits (ip, bridge, nft, nsenter) and answers the
 * reads of observe.ts with JSON in iproute2's shapes, so Datapath.set() can be driven through
 * any history of plans without root, and two histories compared with dump().
 *
 * It refuses what the kernel refuses (fake-ip.ts), and an `ip -batch` stops at its first
 * failing line, as the real one does without -force. Commands it does not know fail with
 * exit 255: a new command in the datapath must be taught here, not silently accepted.
 *
 * Workload namespaces are named by path, as endpoints name them; the datapath checks the path
 * exists on disk first, so a test registers a real temporary file with addWorkload().
 */
import { CommandError, type CommandResult, type CommandRunner, type RunOptions } from '../runner.js';
import { KernelModel } from './fake-ip.js';
import { WORKLOAD_READ } from '../workload.js';
import { addrJson, dumpModel, fdbJson, KernelError, neighJson, newNs, routeJson, rulesetJson, type FakeNs } from './fake-model.js';

type Table = NonNullable<FakeNs['nft']>;

export class FakeKernel extends KernelModel implements CommandRunner {
  /** Every command run except the reads of observe.ts, with its batch: a no-op adds none. */
  readonly mutations: string[] = [];
  private readonly injected: { prefix: string; stderr: string }[] = [];

  /** `hostNs`: the agent's own namespace, where `ip -batch -` without `-n` lands. */
  constructor(readonly hostNs = 'host') {
    super();
    this.namespaces.set(hostNs, newNs(hostNs, false));
  }

  /** Makes the next command starting with `prefix` fail once (a workload that vanishes mid-attach). */
  failNext(prefix: string, stderr: string): void {
    this.injected.push({ prefix, stderr });
  }

  addWorkload(path: string): void {
    if (this.namespaces.has(path)) throw new Error(`workload ${path} already registered`);
    this.namespaces.set(path, newNs(path, true));
  }

  /** What /run/netns would hold: named namespaces, without the host's own. */
  async listNamespaces(): Promise<string[]> {
    return [...this.namespaces.values()].filter((ns) => !ns.workload && ns.name !== this.hostNs).map((ns) => ns.name).sort();
  }

  /** Canonical text of every namespace, or of the named ones (names or workload paths). */
  dump(only?: string[]): string {
    return dumpModel([...this.namespaces.values()].filter((ns) => !only || only.includes(ns.name)));
  }

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const result = this.exec(argv, opts.input);
    if (result.code !== 0 && !opts.allowFail) throw new CommandError(argv, result);
    return result;
  }

  /** Synchronous core of run(), never throwing on a kernel refusal (RecordingRunner can wrap it). */
  exec(argv: string[], input = ''): CommandResult {
    try {
      const read = this.read(argv, input);
      if (read !== undefined) return { code: 0, stdout: read, stderr: '' };
      this.mutations.push([argv.join(' '), ...input.trimEnd().split('\n').filter(Boolean).map((l) => `  ${l}`)].join('\n'));
      const fault = this.injected.findIndex((f) => argv.join(' ').startsWith(f.prefix));
      if (fault >= 0) throw new KernelError(this.injected.splice(fault, 1)[0]!.stderr, 1);
      this.mutate(argv, input);
      return { code: 0, stdout: '', stderr: '' };
    } catch (err) {
      if (!(err instanceof KernelError)) throw err;
      return { code: err.code, stdout: '', stderr: `${err.message}\n` };
    }
  }

  private read(argv: string[], input: string): string | undefined {
    const [tool, flag, ns, ...rest] = argv;
    const args = rest.join(' ');
    if (argv.join(' ') === 'ip -j -d addr show') return addrJson(this.ns(this.hostNs)); // the agent's own namespace (handoff.ts)
    const workload = tool === 'nsenter' && flag?.startsWith('--net=') ? flag.slice('--net='.length) : undefined;
    if (workload !== undefined && argv.slice(2).join(' ') === 'ip -j -d -batch -' && input === WORKLOAD_READ) {
      if (!this.namespaces.get(workload)?.workload) throw new KernelError(`nsenter: cannot open ${workload}: No such file or directory`, 1);
      return `${addrJson(this.ns(workload))}\n${routeJson(this.ns(workload))}\n`; // workload.ts: links, then default routes
    }
    if (tool === 'ip' && flag === '-n' && args === '-j -d addr show') return addrJson(this.ns(ns!));
    if (tool === 'ip' && flag === '-n' && args === '-j link show type bridge') return addrJson(this.ns(ns!), 'bridge'); // bridge-index.ts
    if (tool === 'ip' && flag === '-n' && args === '-j neigh show') return neighJson(this.ns(ns!));
    if (tool === 'bridge' && flag === '-n' && args === '-j fdb show') return fdbJson(this.ns(ns!));
    if (tool === 'nsenter' && flag?.startsWith('--net=/run/netns/') && [ns, ...rest].join(' ') === 'nft -j list ruleset') {
      return rulesetJson(this.ns(flag.slice('--net=/run/netns/'.length)));
    }
    if (tool === 'nsenter' && flag?.startsWith('--net=') && this.namespaces.get(flag.slice('--net='.length))?.workload && [ns, ...rest].join(' ') === 'ip -j -d addr show') {
      return addrJson(this.ns(flag.slice('--net='.length))); // a workload's side, read by fake-vs-real.kernel.test.ts
    }
    return undefined;
  }

  private mutate(argv: string[], input: string): void {
    const [tool, a1, a2, ...rest] = argv;
    const line = argv.join(' ');
    if (tool === 'ip' && a1 === 'netns' && a2 === 'add' && rest.length === 1) return this.addNs(rest[0]!);
    if (tool === 'ip' && a1 === 'netns' && a2 === 'del' && rest.length === 1) return this.delNs(rest[0]!);
    if (tool === 'ip' && a1 === 'netns' && a2 === 'exec' && rest[1] === 'sysctl') return void this.ns(rest[0]!);
    if (tool === 'nsenter' && a1?.startsWith('--net=/run/netns/') && [a2, ...rest].join(' ') === 'nft -f -') {
      return this.nft(this.ns(a1.slice('--net=/run/netns/'.length)), input);
    }
    if (line === 'ip -batch -') return this.batch(input, (w) => this.ip(this.hostNs, w), this.hostNs);
    if (tool === 'ip' && a1 === '-n' && rest.join(' ') === '-batch -') return this.batch(input, (w) => this.ip(a2!, w), a2);
    if (tool === 'ip' && a1 === '-n' && rest.length > 0) return this.ip(a2!, rest);
    if (tool === 'bridge' && a1 === '-n' && rest.join(' ') === '-batch -') return this.batch(input, (w) => this.bridge(a2!, w), a2);
    if (tool === 'nsenter' && a1?.startsWith('--net=') && [a2, ...rest].join(' ') === 'ip -batch -') {
      const path = a1.slice('--net='.length);
      if (!this.namespaces.get(path)?.workload) throw new KernelError(`nsenter: cannot open ${path}: No such file or directory`, 1);
      return this.batch(input, (w) => this.ip(path, w), path);
    }
    throw new KernelError(`fake kernel: unsupported command: ${line}`, 255);
  }

  /** `ip -batch -` / `bridge -batch -` in namespace `ns`: line by line, stopping at the first failure. */
  private batch(input: string, one: (words: string[]) => void, ns: string): void {
    this.ns(ns);
    for (const [i, text] of input.split('\n').entries()) {
      const words = batchWords(text);
      if (!words.length || words[0]!.startsWith('#')) continue;
      try {
        one(words);
      } catch (err) {
        if (err instanceof KernelError) throw new KernelError(`${err.message}\nCommand failed -:${i + 1}`, 1);
        throw err;
      }
    }
  }

  private addNs(name: string): void {
    if (this.namespaces.has(name)) throw new KernelError(`Cannot create namespace file "/run/netns/${name}": File exists`, 1);
    this.namespaces.set(name, newNs(name, false));
  }

  /** Its links go with it; so do VXLAN devices created in it and moved elsewhere (their socket was here). */
  private delNs(name: string): void {
    const ns = this.namespaces.get(name);
    if (!ns || ns.workload || name === this.hostNs) throw new KernelError(`Cannot remove namespace file "/run/netns/${name}": No such file or directory`, 1);
    for (const link of [...ns.links.keys()]) this.removeLink(ns, link);
    this.namespaces.delete(name);
    for (const other of this.namespaces.values()) {
      for (const l of [...other.links.values()]) if (l.vxlan?.srcNs === name) this.removeLink(other, l.name);
    }
  }

  /** `nft -f -`: the script shapes rulesetScript() writes (whole tables, or in place), applied as one transaction. */
  private nft(ns: FakeNs, script: string): void {
    const copy = (t?: Table) => t && { comment: t.comment, body: [...t.body], elements: new Set(t.elements) };
    const tables: Record<string, Table | undefined> = { inet: copy(ns.nft), bridge: copy(ns.nftBridge) };
    const lines = script.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      const m = /^(delete )?table (inet|bridge) tenet( \{\}| \{)?$/.exec(line);
      const el = /^(add|delete) element bridge tenet ports \{ (.*) \}$/.exec(line);
      if (!line) continue;
      if (inPlaceStatement(tables.inet, line)) continue;
      if (el) {
        changeElements(tables.bridge, el[1] === 'add', el[2]!.split(', '));
        continue;
      }
      if (!m) throw new KernelError(`fake kernel: unsupported nft statement: ${line}`, 1);
      const family = m[2]!;
      if (m[1]) {
        if (!tables[family]) throw new KernelError('Error: Could not process rule: No such file or directory', 1);
        tables[family] = undefined;
        continue;
      }
      tables[family] ??= { comment: '', body: [], elements: new Set() };
      if (m[3] === ' {') i = readTableBody(lines, i + 1, tables[family]!);
    }
    baseChainsLast(tables.inet);
    ns.nft = tables.inet;
    ns.nftBridge = tables.bridge;
  }
}

/** One batch line split as iproute2's makeargs splits it: on blanks, a double-quoted word kept whole. */
function batchWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/**
 * The statements of an in-place update of `inet tenet` (nft.ts inPlaceScript) on the table's
 * lines: flush a chain, delete an object, add a rule to a chain. Fails as nft does on what is
 * missing, and on deleting a chain that still holds rules. The base chains are kept last, as a
 * whole load writes them, so a table updated in place dumps like one loaded whole.
 */
function inPlaceStatement(table: Table | undefined, line: string): boolean {
  const m = /^(flush chain|delete set|delete map|delete chain|add rule) inet tenet (\S+)(?: (.*))?$/.exec(line);
  if (!m) return false;
  const [, verb, name, rule] = m;
  const kind = verb!.split(' ')[1]!;
  const at = table ? table.body.findIndex((l) => new RegExp(`^${kind === 'rule' ? 'chain' : kind} ${name} \\{`).test(l)) : -1;
  if (!table || at < 0) throw new KernelError('Error: Could not process rule: No such file or directory', 1);
  const end = table.body.findIndex((l, i) => i >= at && (l === '}' || (i === at && l.endsWith('}'))));
  const rules = table.body.slice(at + 1, end).filter((l) => !l.trim().startsWith('type '));
  if (verb === 'flush chain') table.body.splice(at + 1, end - at - 1, ...table.body.slice(at + 1, end).filter((l) => l.trim().startsWith('type ')));
  else if (verb === 'add rule') table.body.splice(end, 0, `  ${rule}`);
  else if (kind === 'chain' && rules.length) throw new KernelError('Error: Could not process rule: Device or resource busy', 1);
  else table.body.splice(at, end - at + 1);
  return true;
}

/** After an in-place update: the base chains go last again, where a whole load puts them. */
function baseChainsLast(table: Table | undefined): void {
  if (!table) return;
  const blocks: string[][] = [];
  for (const l of table.body) (/^\S/.test(l) && !l.startsWith('}') ? blocks.push([l]) : blocks[blocks.length - 1]!.push(l));
  const base = (b: string[]) => /^chain (forward|input) \{/.test(b[0]!);
  table.body = [...blocks.filter((b) => !base(b)), ...blocks.filter(base)].flat();
}

/** `add element` / `delete element` on the pinning set, failing as nft does on a missing set or element. */
function changeElements(table: Table | undefined, add: boolean, elements: string[]): void {
  if (!table) throw new KernelError('Error: Could not process rule: No such file or directory', 1);
  for (const e of elements) {
    if (add) table.elements.add(e);
    else if (!table.elements.delete(e)) throw new KernelError('Error: Could not process rule: No such file or directory', 1);
  }
}

/** Reads a table's lines up to its closing brace; returns the index of that brace. */
function readTableBody(lines: string[], start: number, table: Table): number {
  let depth = 1;
  for (let i = start; i < lines.length; i++) {
    const raw = lines[i]!;
    const comment = depth === 1 ? /^comment "(.*)"$/.exec(raw.trim()) : null;
    depth += (raw.match(/{/g) ?? []).length - (raw.match(/}/g) ?? []).length;
    if (depth === 0) return i;
    const elements = /^elements = \{ (.*) \}$/.exec(raw.trim());
    if (comment) table.comment = comment[1]!;
    else if (elements) elements[1]!.split(', ').forEach((e) => table.elements.add(e));
    else table.body.push(raw.replace(/^ {2}/, ''));
  }
  throw new KernelError('Error: syntax error, unexpected end of file', 1);
}
