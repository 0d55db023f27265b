/** Docker's PortBindings (ProgramExternalConnectivity Options) as an endpoint's published ports (ADR 016). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PORTMAP_OPTION, portsFromOptions } from './port-bindings.js';

const opts = (...bindings: object[]) => ({ [PORTMAP_OPTION]: bindings, 'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 80 }] });

test('port bindings: tcp and udp, a host address, IPv4 and IPv6 twins as one mapping; none or null is nothing', () => {
  assert.deepEqual(
    portsFromOptions(opts(
      { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
      { Proto: 6, IP: '', Port: 80, HostIP: '::', HostPort: 8080, HostPortEnd: 8080 },
      { Proto: 17, IP: '', Port: 53, HostIP: '10.0.0.1', HostPort: 5353, HostPortEnd: 5353 },
      { Proto: 6, Port: 443, HostIP: '0.0.0.0', HostPort: 8443 },
    )),
    [{ hostPort: 8080, port: 80, proto: 'tcp' }, { hostPort: 5353, port: 53, proto: 'udp', hostIp: '10.0.0.1' }, { hostPort: 8443, port: 443, proto: 'tcp' }],
  );
  assert.deepEqual(portsFromOptions({}), []);
  assert.deepEqual(portsFromOptions({ [PORTMAP_OPTION]: null }), []);
  assert.deepEqual(portsFromOptions(undefined), []);
});

test('port bindings: a random host port, a range, sctp and a malformed list are refused with one line', () => {
  const refused: [object, RegExp][] = [
    [opts({ Proto: 6, Port: 80, HostIP: '', HostPort: 0, HostPortEnd: 0 }), /random host port.*-p HOSTPORT:80\/tcp/],
    [opts({ Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8090 }), /range 8080-8090.*-p 8080:80\/tcp/],
    [opts({ Proto: 132, Port: 80, HostPort: 8080 }), /protocol 132/],
    [{ [PORTMAP_OPTION]: 'x' }, /not a list/],
    [opts({ Proto: 6, Port: 80, HostPort: 8080 }, { Proto: 6, Port: 81, HostPort: 8080 }), /given twice/],
  ];
  for (const [o, why] of refused) assert.throws(() => portsFromOptions(o), (e: any) => e.code === 'INVALID_PORT' && why.test(e.message));
});
