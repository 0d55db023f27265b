/**
 * Test support: the `ip` and `bridge` lines Tenet emits, interpreted against the fake kernel's
 * objects (fake-model.ts) with the kernel's refusals: a name taken, a device missing, a VNI
 * already bound in the namespace that creates the device (the UDP socket stays there even
 * after the device moves; checked against Linux 6.18: "A VXLAN device with the specified
 * VNI already exists."). A line the fake does not know is an error, never a silent success.
 */
import { contains, maskOf, parseIp } from '../../base/cidr.js';
import { KernelError, newLink, placeLink, type FakeLink, type FakeNs, type FakeVxlan } from './fake-model.js';

const NO_DEVICE = (name: string) => new KernelError(`Cannot find device "${name}"`, 1);
const EXISTS = new KernelError('RTNETLINK answers: File exists');
const NOENT = new KernelError('RTNETLINK answers: No such file or directory');
const unsupported = (words: string[]) => new KernelError(`fake kernel: unsupported command: ${words.join(' ')}`, 255);
const ZERO_MAC = '00:00:00:00:00:00';

export class KernelModel {
  readonly namespaces = new Map<string, FakeNs>();

  ns(name: string): FakeNs {
    const ns = this.namespaces.get(name);
    if (!ns) throw new KernelError(`Cannot open network namespace "${name}": No such file or directory`, 255);
    return ns;
  }

  /** Removes a link as the kernel does: with its veth peer, its routes and its static entries. */
  removeLink(ns: FakeNs, name: string): void {
    const link = ns.links.get(name);
    if (!link) return;
    this.detach(ns, link);
    ns.links.delete(name);
    for (const [dst, r] of ns.routes) if (r.dev === name) ns.routes.delete(dst);
    if (link.kind === 'bridge') for (const l of ns.links.values()) if (l.master === name) l.master = undefined;
    if (link.peer) {
      const other = this.namespaces.get(link.peer.ns);
      const peer = other?.links.get(link.peer.name);
      if (other && peer) {
        peer.peer = undefined;
        this.removeLink(other, peer.name);
      }
    }
  }

  /** One line of `ip` in namespace `nsName`. */
  ip(nsName: string, words: string[]): void {
    const ns = this.ns(nsName);
    const [obj, verb] = words;
    if (obj === 'link' && verb === 'add') return this.linkAdd(ns, words);
    if (obj === 'link' && verb === 'set') return this.linkSet(ns, words);
    if (obj === 'link' && (verb === 'del' || verb === 'delete') && words.length === 3) {
      if (!ns.links.has(words[2]!)) throw NO_DEVICE(words[2]!);
      return this.removeLink(ns, words[2]!);
    }
    if (obj === 'route' && verb === 'del' && words[2] === 'default' && words.length === 3) {
      if (!ns.routes.delete('default')) throw new KernelError('RTNETLINK answers: No such process');
      return;
    }
    if (obj === 'addr' && verb === 'flush' && words[2] === 'dev' && words.length === 4) {
      const link = ns.links.get(words[3]!);
      if (!link) throw NO_DEVICE(words[3]!);
      link.addrs = [];
      return dropUnreachableRoutes(ns, link);
    }
    const opts = options(words.slice(3), ['dev', 'lladdr', 'nud', 'via']);
    const dev = opts.get('dev');
    if (dev === undefined || !ns.links.has(dev)) throw dev === undefined ? unsupported(words) : NO_DEVICE(dev);
    const link = ns.links.get(dev)!;
    const target = words[2]!;
    if (obj === 'addr' && verb === 'add' && opts.size === 1) return addrAdd(link, target);
    if (obj === 'addr' && verb === 'del' && opts.size === 1) {
      if (!link.addrs.includes(target)) throw new KernelError('Error: ipv4: Address not found.');
      link.addrs = link.addrs.filter((a) => a !== target);
      return dropUnreachableRoutes(ns, link);
    }
    if (obj === 'neigh' && verb === 'replace' && opts.get('nud') === 'permanent' && opts.has('lladdr') && opts.size === 3) {
      link.neigh.set(target, opts.get('lladdr')!);
      return;
    }
    if (obj === 'neigh' && verb === 'del' && opts.size === 1) {
      if (!link.neigh.delete(target)) throw NOENT;
      return;
    }
    if (obj === 'route' && verb === 'replace' && target === 'default' && opts.has('via') && opts.size === 2) {
      return routeReplace(ns, link, opts.get('via')!);
    }
    throw unsupported(words);
  }

  /** One line of `bridge` in namespace `nsName`: fdb entries only. */
  bridge(nsName: string, words: string[]): void {
    const ns = this.ns(nsName);
    const [obj, verb, mac, devWord, dev, ...rest] = words;
    if (obj !== 'fdb' || devWord !== 'dev' || !mac || !dev || !['add', 'append', 'replace', 'del'].includes(verb!)) throw unsupported(words);
    const link = ns.links.get(dev);
    if (!link) throw NO_DEVICE(dev);
    const flags = new Set(rest.filter((w, i) => rest[i - 1] !== 'dst' && w !== 'dst'));
    const dst = rest.includes('dst') ? rest[rest.indexOf('dst') + 1] : undefined;
    if (flags.has('master') && flags.size === (verb === 'del' ? 1 : 2) && (verb === 'del' || flags.has('static')) && !dst) {
      return masterFdb(ns, link, verb!, mac);
    }
    if (flags.has('self') && dst && flags.size === (verb === 'del' ? 1 : 2) && (verb === 'del' || flags.has('permanent'))) {
      if (!link.vxlan) throw new KernelError('RTNETLINK answers: Operation not supported');
      return selfFdb(link, verb!, mac, dst);
    }
    throw unsupported(words);
  }

  /**
   * `link add NAME [netns NS] [master M] [mtu N] [address MAC] [up] type KIND ...`. With
   * `netns`, the device is born in NS and `master` applies there, by index: iproute2 turns M
   * into an index in the namespace it runs in (a device named M there, else `if N` read as N),
   * and the kernel looks that index up in NS (checked on Linux 6.18: a missing index is
   * EINVAL, a device that takes no ports EOPNOTSUPP). A veth's peer is born where `ip` runs
   * unless the peer names its own netns.
   */
  private linkAdd(ns: FakeNs, words: string[]): void {
    const name = words[2]!;
    const typeAt = words.indexOf('type');
    const head = typeAt < 0 ? [] : words.slice(3, typeAt);
    const up = head.includes('up');
    const own = options(head.filter((w) => w !== 'up'), ['mtu', 'address', 'netns', 'master']);
    const kind = words[typeAt + 1];
    const rest = words.slice(typeAt + 2);
    if (typeAt < 0 || !kind) throw unsupported(words);
    const home = own.has('netns') ? this.netnsArg(own.get('netns')!) : ns;
    if (home.links.has(name)) throw EXISTS;
    const master = own.has('master') ? this.masterByIndex(ns, home, own.get('master')!) : undefined;
    const fields: Partial<FakeLink> = {
      ...(own.has('mtu') ? { mtu: Number(own.get('mtu')) } : {}),
      ...(own.has('address') ? { mac: own.get('address')! } : {}),
      ...(master ? { master } : {}),
      ...(up ? { up } : {}),
    };
    if (kind === 'bridge' || kind === 'dummy') {
      if (rest.length) throw unsupported(words);
      placeLink(home, newLink(name, kind, fields));
    } else if (kind === 'vxlan') {
      placeLink(home, newLink(name, kind, { ...fields, vxlan: this.vxlanAttrs(ns, rest, words) }));
    } else if (kind === 'veth' && rest[0] === 'peer' && rest[1] === 'name' && rest[2]) {
      const peerOpts = options(rest.slice(3), ['netns', 'address', 'mtu']);
      const target = peerOpts.has('netns') ? this.netnsArg(peerOpts.get('netns')!) : ns;
      if (target.links.has(rest[2]) || (target === home && rest[2] === name)) throw EXISTS;
      const peerMtu = peerOpts.has('mtu') ? { mtu: Number(peerOpts.get('mtu')) } : {};
      const peerMac = peerOpts.has('address') ? { mac: peerOpts.get('address')! } : {};
      placeLink(home, newLink(name, 'veth', { ...fields, peer: { ns: target.name, name: rest[2] } }));
      placeLink(target, newLink(rest[2], 'veth', { ...peerMtu, ...peerMac, peer: { ns: home.name, name } }));
    } else {
      throw unsupported(words);
    }
  }

  /** The bridge `master` names for a device born in `home`, resolved as iproute2 and the kernel do (see linkAdd). */
  private masterByIndex(caller: FakeNs, home: FakeNs, master: string): string {
    const index = caller.links.get(master)?.index ?? (/^if\s*(\d+)$/.test(master) ? Number(/(\d+)$/.exec(master)![1]) : undefined);
    if (index === undefined) throw new KernelError(`Error: argument "${master}" is wrong: Device does not exist`, 255);
    const target = [...home.links.values()].find((l) => l.index === index);
    if (!target) throw new KernelError('RTNETLINK answers: Invalid argument');
    if (target.kind !== 'bridge') throw new KernelError('RTNETLINK answers: Operation not supported');
    return target.name;
  }

  private vxlanAttrs(ns: FakeNs, rest: string[], words: string[]): FakeVxlan {
    const flags: string[] = rest.filter((w) => w === 'nolearning' || w === 'proxy');
    const opts = options(rest.filter((w) => !flags.includes(w)), ['id', 'local', 'dstport']);
    if (!opts.has('id') || !opts.has('dstport')) throw unsupported(words);
    const learning = !flags.includes('nolearning');
    const v = { id: Number(opts.get('id')), local: opts.get('local') ?? '', port: Number(opts.get('dstport')), learning, proxy: flags.includes('proxy'), srcNs: ns.name };
    for (const other of this.namespaces.values()) {
      for (const l of other.links.values()) {
        if (l.vxlan && l.vxlan.srcNs === ns.name && l.vxlan.id === v.id && l.vxlan.port === v.port) {
          throw new KernelError('Error: A VXLAN device with the specified VNI already exists.');
        }
      }
    }
    return v;
  }

  private linkSet(ns: FakeNs, words: string[]): void {
    const name = words[2]!;
    if (words[3] === 'type') return this.bridgeOption(ns, words);
    const flags: string[] = words.slice(3).filter((w) => w === 'up' || w === 'down');
    const opts = options(words.slice(3).filter((w) => !flags.includes(w)), ['netns', 'master', 'address', 'mtu', 'name']);
    const link = ns.links.get(name);
    if (!link) throw NO_DEVICE(name);
    if (opts.has('name')) return this.rename(ns, link, opts.get('name')!, opts.size === 1 && !flags.length ? undefined : words);
    const master = opts.get('master');
    if (master !== undefined && ns.links.get(master)?.kind !== 'bridge') throw new KernelError(`Error: argument "${master}" is wrong: Device does not exist`, 255);
    const target = opts.has('netns') ? this.netnsArg(opts.get('netns')!) : undefined;
    if (target && target !== ns && target.links.has(name)) throw EXISTS;
    if (opts.has('address')) link.mac = opts.get('address')!;
    if (opts.has('mtu')) link.mtu = Number(opts.get('mtu'));
    if (master !== undefined && link.master !== master) {
      this.detach(ns, link);
      link.master = master;
    }
    if (flags.length) link.up = flags.at(-1) === 'up';
    if (!link.up) dropUnreachableRoutes(ns, link); // the kernel removes a downed device's routes
    if (target && target !== ns) this.move(ns, link, target);
  }

  /** `link set BRIDGE type bridge nf_call_iptables 0|1`, the one bridge option Tenet sets. */
  private bridgeOption(ns: FakeNs, words: string[]): void {
    const link = ns.links.get(words[2]!);
    if (!link) throw NO_DEVICE(words[2]!);
    if (link.kind !== 'bridge' || words.length !== 7 || words[4] !== 'bridge' || words[5] !== 'nf_call_iptables' || !/^[01]$/.test(words[6]!)) throw unsupported(words);
    link.nfCallIptables = words[6] === '1';
  }

  /** `link set X name Y`, alone on its line (what the drift tests do to a workload's interface). */
  private rename(ns: FakeNs, link: FakeLink, to: string, unsupportedLine?: string[]): void {
    if (unsupportedLine || link.kind === 'bridge' || link.master) throw unsupported(unsupportedLine ?? ['link set', link.name, 'name', to]);
    if (ns.links.has(to)) throw EXISTS;
    ns.links.delete(link.name);
    for (const r of ns.routes.values()) if (r.dev === link.name) r.dev = to;
    link.name = to;
    ns.links.set(to, link);
    const peer = link.peer && this.namespaces.get(link.peer.ns)?.links.get(link.peer.name);
    if (peer) peer.peer = { ns: ns.name, name: to };
  }

  /** A device changing namespace loses its master, addresses and neighbours, and goes down. */
  private move(from: FakeNs, link: FakeLink, to: FakeNs): void {
    this.detach(from, link);
    from.links.delete(link.name);
    Object.assign(link, { up: false, addrs: [], neigh: new Map() });
    placeLink(to, link);
    const peer = link.peer && this.namespaces.get(link.peer.ns)?.links.get(link.peer.name);
    if (peer) peer.peer = { ns: to.name, name: link.name };
  }

  private detach(ns: FakeNs, link: FakeLink): void {
    const bridge = link.master ? ns.links.get(link.master) : undefined;
    if (bridge) for (const [mac, port] of bridge.bridgeFdb) if (port === link.name) bridge.bridgeFdb.delete(mac);
    link.master = undefined;
  }

  /** A name under /run/netns, or a path: workload namespaces are registered by path, Tenet's by name. */
  private netnsArg(arg: string): FakeNs {
    const ns = this.namespaces.get(arg) ?? (arg.startsWith('/run/netns/') ? this.namespaces.get(arg.slice('/run/netns/'.length)) : undefined);
    if (!ns) throw new KernelError(`Error: argument "${arg}" is wrong: Invalid "netns" value`, 255);
    return ns;
  }
}

/** "key value" pairs; any word that is not one of `keys` followed by a value is refused. */
function options(words: string[], keys: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < words.length; i += 2) {
    if (!keys.includes(words[i]!) || words[i + 1] === undefined) throw unsupported([`... ${words.join(' ')}`]);
    out.set(words[i]!, words[i + 1]!);
  }
  return out;
}

function addrAdd(link: FakeLink, cidr: string): void {
  const [ip, len] = cidr.split('/');
  if (parseIp(ip ?? '') === undefined || !/^\d+$/.test(len ?? '')) throw new KernelError(`Error: any valid prefix is expected rather than "${cidr}".`, 1);
  if (link.addrs.includes(cidr)) throw new KernelError('Error: ipv4: Address already assigned.');
  link.addrs.push(cidr);
}

/** Whether `via` is on a subnet of an address of the device. */
function onLink(link: FakeLink, via: string): boolean {
  const gw = parseIp(via);
  return link.addrs.some((a) => {
    const [ip, len] = a.split('/');
    const prefixLen = Number(len);
    return gw !== undefined && contains({ base: (parseIp(ip!)! & maskOf(prefixLen)) >>> 0, prefixLen }, gw);
  });
}

/** A gateway must be on a subnet of an address of the (up) device, as the kernel checks. */
function routeReplace(ns: FakeNs, link: FakeLink, via: string): void {
  if (!link.up) throw new KernelError('Error: Nexthop device is not up.');
  if (!onLink(link, via)) throw new KernelError('Error: Nexthop has invalid gateway.');
  ns.routes.set('default', { via, dev: link.name });
}

/** As Linux does: a device going down, or losing the address its gateway was on, loses those routes (checked on 6.18). */
function dropUnreachableRoutes(ns: FakeNs, link: FakeLink): void {
  for (const [dst, r] of ns.routes) if (r.dev === link.name && (!link.up || !onLink(link, r.via))) ns.routes.delete(dst);
}

function masterFdb(ns: FakeNs, port: FakeLink, verb: string, mac: string): void {
  const bridge = port.master ? ns.links.get(port.master) : undefined;
  if (!bridge) throw new KernelError('RTNETLINK answers: Operation not supported');
  const current = bridge.bridgeFdb.get(mac);
  if (verb === 'del') {
    if (current !== port.name) throw NOENT;
    bridge.bridgeFdb.delete(mac);
  } else {
    if (verb === 'add' && current !== undefined) throw EXISTS;
    bridge.bridgeFdb.set(mac, port.name);
  }
}

/** VXLAN entries: one per MAC; only the all-zeros (flood) entry may list several VTEPs. */
function selfFdb(link: FakeLink, verb: string, mac: string, dst: string): void {
  const dsts = link.remotes.get(mac);
  if (verb === 'del') {
    if (!dsts?.includes(dst)) throw NOENT;
    const left = dsts.filter((d) => d !== dst);
    if (left.length) link.remotes.set(mac, left);
    else link.remotes.delete(mac);
  } else if (!dsts) {
    link.remotes.set(mac, [dst]);
  } else if (verb === 'add') {
    throw EXISTS;
  } else if (verb === 'replace') {
    if (mac === ZERO_MAC) throw new KernelError('Error: Cannot replace non-unicast fdb entries.');
    if (!dsts.includes(dst)) dsts[0] = dst;
  } else if (mac === ZERO_MAC && !dsts.includes(dst)) {
    dsts.push(dst);
  }
}
