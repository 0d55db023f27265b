/**
 * The reconcile state table: desired states for host h1 (tenants come and go, a port moves,
 * a VNI is reused, MTU and VTEPs change). reconcile.test.ts walks it on the fake kernel and
 * fake-vs-real.kernel.test.ts walks it on both kernels, so the two can never test different
 * tables. `workload(name)` says where a workload's namespace is (a file stand-in, or a real
 * namespace). h1 and h2 each hold a handoff endpoint (ADR 005): its pair is made on h1 with
 * the host side left in h1's own namespace; h2's is a remote entry like any other.
 */
import type { Endpoint, Host, Network } from '../../model/types.js';
import { ep, handedOff, host, net } from './objects.js';

export interface State {
  name: string;
  networks: Network[];
  hosts: Host[];
  endpoints: Endpoint[];
}

export const red = net('acme', 'red', '192.168.10.0/24', 4101);
export const green = net('acme', 'green', '192.168.20.0/24', 4102);
export const yellow = net('acme', 'yellow', '192.168.30.0/24', 4102); // green deleted, its VNI reused
export const blue = net('beta', 'blue', '192.168.10.0/24', 4201); // red's subnet, other tenant
export const blue1400 = net('beta', 'blue', '192.168.10.0/24', 4201, 1400);
export const violet = net('beta', 'violet', '192.168.40.0/24', 4202); // no endpoint anywhere: bridge, VXLAN, no entries
export const H1_VTEP = '10.0.0.1';
export const hosts = [host('h1', H1_VTEP), host('h2', '10.0.0.2'), host('h3', '10.0.0.3')];
export const h3Moved = [host('h1', H1_VTEP), host('h2', '10.0.0.2'), host('h3', '10.0.0.33')];
export const h1Moved = [host('h1', '10.0.0.11'), host('h2', '10.0.0.2'), host('h3', '10.0.0.3')]; // our own VTEP

export const on = (e: Endpoint, h: string): Endpoint => ({ ...e, host: h });

/** The workloads the table's endpoints live in. */
export const WORKLOADS = ['a1', 'a2', 'a3', 'g2', 'y1', 'y2', 'b1', 'b2', 'b3'];

export function stateTable(workload: (name: string) => string) {
  const a1 = ep('a1', red, 'h1', '192.168.10.2', workload('a1'));
  const a2 = ep('a2', red, 'h2', '192.168.10.3', workload('a2'));
  const a3 = ep('a3', red, 'h3', '192.168.10.4', workload('a3'));
  const g1 = ep('g1', green, 'h1', '192.168.20.2', workload('a1'), 'eth1'); // second interface of a1's workload
  const g2 = ep('g2', green, 'h2', '192.168.20.3', workload('g2'));
  const y1 = ep('y1', yellow, 'h1', '192.168.30.2', workload('y1'));
  const y2 = ep('y2', yellow, 'h2', '192.168.30.3', workload('y2'));
  const b1 = ep('b1', blue, 'h1', '192.168.10.2', workload('b1')); // a1's address, other tenant
  const b2 = ep('b2', blue, 'h2', '192.168.10.3', workload('b2'));
  const b3 = ep('b3', blue, 'h3', '192.168.10.5', workload('b3'));
  const ha = handedOff(ep('ha', red, 'h1', '192.168.10.6', '')); // a runtime moves its host side
  const hr = handedOff(ep('hr', red, 'h2', '192.168.10.7', ''));
  const hb = handedOff(ep('hb', blue, 'h1', '192.168.10.6', '')); // ha's address, other tenant; blue's MTU changes
  const both: State = { name: 'both', networks: [red, green, blue], hosts, endpoints: [a1, a2, a3, g1, g2, b1, b2, b3, ha, hr, hb] };
  const states: State[] = [
    { name: 'none-here', networks: [red, green, blue], hosts, endpoints: [a2, b2, hr] },
    { name: 'acme', networks: [red, green, blue], hosts, endpoints: [a1, a2, g2, b2, ha] },
    both,
    { ...both, name: 'h3-vtep', hosts: h3Moved },
    { ...both, name: 'h1-vtep', hosts: h1Moved },
    { name: 'yellow', networks: [red, yellow, blue, violet], hosts, endpoints: [a1, on(a3, 'h1'), y1, y2, b1, b3] },
    { ...both, name: 'mtu', networks: [red, green, blue1400] },
    { name: 'beta-only', networks: [red, green, blue1400], hosts: hosts.slice(0, 2), endpoints: [on(a1, 'h2'), a3, b1, b2] },
  ];
  return { endpoints: { a1, a2, a3, g1, g2, y1, y2, b1, b2, b3, ha, hr, hb }, states };
}

/**
 * Changes made inside workloads behind Tenet's back (issue #5), for state "both": each is one
 * `ip -batch` run inside the named workload; a full set() must repair all of them.
 * g1 is a1's eth1 (no default route); b1 loses its interface's name, so its port is re-made.
 */
export const WORKLOAD_DRIFTS: { workload: string; commands: string[] }[] = [
  { workload: 'a1', commands: ['addr flush dev eth0'] }, // address and default route gone
  { workload: 'a1', commands: ['link set eth1 mtu 1300 down'] },
  { workload: 'b1', commands: ['link set eth0 down', 'link set eth0 name old0'] },
];
