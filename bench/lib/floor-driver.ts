/**
 * The floor of any remote Docker network driver (bench/docker-run.ts): a network and IPAM
 * plugin doing the least dockerd needs to start a container on a network of its own. Its
 * `docker run` time, against `--net=none`, is what Docker itself costs for a remote driver;
 * Tenet's time against it is what Tenet adds. Pools and addresses come from a static counter
 * (no store, no controller), CreateEndpoint accepts, Join makes one veth pair and returns it
 * with a gateway (so no docker_gwbridge, as Tenet's), DeleteEndpoint deletes it. Served by
 * the same HTTP endpoint code as Tenet's plugin (src/docker/plugin-server.ts), in the
 * benchmark's own process, so only the handlers differ.
 */
import { execFile } from 'node:child_process';
import type http from 'node:http';
import { promisify } from 'node:util';
import { formatIp, parseCidr } from '../../src/base/cidr.js';
import { silentLogger } from '../../src/base/logger.js';
import { pluginServer, type Handler } from '../../src/docker/plugin-server.js';

const run = promisify(execFile);
export const FLOOR_DRIVER = 'tenetfloor';
const GATEWAY_REQUEST = 'com.docker.network.gateway';

/** Serves the floor driver on `socket` (dockerd finds `<dir>/tenetfloor.sock` by name). */
export async function startFloorDriver(socket: string, subnet: string): Promise<http.Server> {
  const server = pluginServer(floorHandlers(subnet), silentLogger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  return server;
}

function floorHandlers(subnet: string): Record<string, Handler> {
  const cidr = parseCidr(subnet)!;
  const gateway = formatIp(cidr.base + 1);
  const size = 2 ** (32 - cidr.prefixLen) - 3;
  let next = 0; // the static counter: .2, .3, … wrapping round; runs are sequential, so no clash
  const vethOf = (b: Record<string, unknown>) => `fl${String(b.EndpointID ?? '').slice(0, 12)}`;
  return {
    '/Plugin.Activate': () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
    '/NetworkDriver.GetCapabilities': () => ({ Scope: 'local', ConnectivityScope: 'local' }),
    '/NetworkDriver.CreateNetwork': () => ({}),
    '/NetworkDriver.DeleteNetwork': () => ({}),
    '/NetworkDriver.CreateEndpoint': () => ({}),
    '/NetworkDriver.Join': async (b) => {
      const host = vethOf(b);
      const peer = `fc${host.slice(2)}`;
      await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      return { InterfaceName: { SrcName: peer, DstPrefix: 'eth' }, Gateway: gateway, DisableGatewayService: true };
    },
    '/NetworkDriver.Leave': () => ({}),
    // By now dockerd has moved the container's end back out of its namespace: one delete removes both.
    '/NetworkDriver.DeleteEndpoint': async (b) => {
      await run('ip', ['link', 'del', vethOf(b)]).catch(() => undefined);
      return {};
    },
    '/NetworkDriver.EndpointOperInfo': () => ({ Value: {} }),
    '/NetworkDriver.ProgramExternalConnectivity': () => ({}),
    '/NetworkDriver.RevokeExternalConnectivity': () => ({}),
    '/NetworkDriver.DiscoverNew': () => ({}),
    '/NetworkDriver.DiscoverDelete': () => ({}),
    '/IpamDriver.GetCapabilities': () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
    '/IpamDriver.GetDefaultAddressSpaces': () => ({ LocalDefaultAddressSpace: 'floor', GlobalDefaultAddressSpace: 'floor-global' }),
    '/IpamDriver.RequestPool': () => ({ PoolID: 'floor', Pool: subnet, Data: {} }),
    '/IpamDriver.ReleasePool': () => ({}),
    '/IpamDriver.RequestAddress': (b) => {
      const options = (b.Options ?? {}) as Record<string, unknown>;
      if (options.RequestAddressType === GATEWAY_REQUEST) return { Address: `${gateway}/${cidr.prefixLen}`, Data: {} };
      const ip = typeof b.Address === 'string' && b.Address ? b.Address : formatIp(cidr.base + 2 + (next++ % size));
      return { Address: `${ip}/${cidr.prefixLen}`, Data: {} };
    },
    '/IpamDriver.ReleaseAddress': () => ({}),
  };
}
