/**
 * Test support: the tenants whose compiled nft text is kept as golden files
 * (src/policy/testdata/NAME.nft), read by render.test.ts and loaded into the real kernel by
 * policy.kernel.test.ts.
 */
import type { CompileInput } from '../compile.js';
import { ep, net, policy } from './objects.js';

const red = net('red', '10.1.0.0/24', ['policy-default']);
const green = net('green', '10.2.0.0/24', ['policy-default']);

/** Where the golden files live (the source tree, not dist/). */
export const TESTDATA = new URL('../../../../src/policy/testdata/', import.meta.url);

export const SCENARIOS: Record<string, { about: string; input: CompileInput }> = {
  'isolated': {
    about: 'Two networks, no policy: inside one network allowed, between them denied, no chain at all.',
    input: { networks: [net('red', '10.1.0.0/24'), net('green', '10.2.0.0/24')], endpoints: [], policies: [] },
  },
  'contrail-walkthrough': {
    about: "OpenContrail's walkthrough: a pass-all policy attached to red and green connects them.",
    input: { networks: [red, green], endpoints: [], policies: [policy('policy-default', ['allow any from any to any'])] },
  },
  'web-db': {
    about: "Issue 7's example: ports, groups (named sets), priorities, a logged deny; blue has no policy.",
    input: {
      networks: [net('red', '10.1.0.0/24', ['web-db']), net('green', '10.2.0.0/24', ['web-db']), net('blue', '10.3.0.0/24')],
      endpoints: [ep('w1', red, '10.1.0.2', { tier: 'web' }), ep('w2', red, '10.1.0.3', { tier: 'web' }), ep('d1', green, '10.2.0.2', { tier: 'db' })],
      policies: [
        policy('web-db', [
          'allow tcp from net:red to net:green port 5432',
          'allow tcp from group:tier=web to group:tier=db port 80,443,8000-8080 priority 10',
          'deny udp from cidr:10.1.0.128/25 to any priority 5 log',
        ]),
      ],
    },
  },
  'merge-and-split': {
    about: 'One run of allows merged into one set, split where elements overlap (pipapo refuses them); reject by protocol; icmp without port.',
    input: {
      networks: [net('red', '10.1.0.0/24', ['fw']), net('green', '10.2.0.0/24')],
      endpoints: [],
      policies: [
        policy('fw', [
          'allow tcp from net:red to net:green port 80-90',
          'allow tcp from net:red to net:green port 443',
          'allow tcp from cidr:10.1.0.0/25 to net:green port 85-100',
          'allow udp from net:red to net:green port 53',
          'reject from cidr:10.1.0.128/25 to any priority 50',
          'reject tcp from net:red to net:green port 22 priority 60',
          'allow icmp from net:red to net:green priority 60',
        ]),
      ],
    },
  },
};
