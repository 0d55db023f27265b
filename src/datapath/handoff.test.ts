/**
 * The agent-namespace sweep of handoff interfaces (handoff.ts): it repairs the ones it planned
 * and never deletes one it did not, which may be another agent's on the same machine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostHandoffCommands } from './handoff.js';
import type { PortPlan } from './plan.js';
import type { LinkState } from './state.js';

const link = (name: string, mac: string, mtu: number): LinkState => ({ name, kind: 'veth', mtu, mac, up: false, addrs: [] });
const planned: PortPlan = {
  endpointId: 'e1', port: 'tnv0123456789', bridge: 'tnb1', netns: '', ifname: 'eth0', mac: '02:00:00:00:00:01',
  ipCidr: '10.0.0.2/24', gateway: '10.0.0.1', mtu: 1450, defaultRoute: true, handoff: 'tnh0123456789',
};

test('a planned handoff interface gets its MAC and MTU back; an unplanned one (another agent\'s) is left alone', () => {
  const links = new Map([
    ['tnh0123456789', link('tnh0123456789', '02:00:00:00:00:09', 1500)],
    ['tnhabcdefabcd', link('tnhabcdefabcd', '02:00:00:00:00:07', 1450)],
  ]);
  assert.deepEqual(hostHandoffCommands(links, [planned]), ['link set tnh0123456789 address 02:00:00:00:00:01 mtu 1450']);
  assert.deepEqual(hostHandoffCommands(new Map([['tnhabcdefabcd', links.get('tnhabcdefabcd')!]]), [planned]), []);
});
