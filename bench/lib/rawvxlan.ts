/**
 * The baseline of the throughput benchmark: a VXLAN overlay built by hand with plain
 * `ip`/`bridge`, in the shape of a two-host Tenet lab (research/baseline.md section 1):
 *
 *   underlay ns: bridge ul0 ── veth ── host ns hN: eth0 10.97.0.N+1/24 (MTU 1500)
 *   host ns:     br0 ── vxlan100 (id 100, dstport 4789, nolearning, MTU 1450)
 *                 └── vc ── veth ── container ns: eth0 10.96.0.N/24, fixed MAC (MTU 1450)
 *
 * Forwarding is static, as Tenet programs it: an all-zero BUM entry and the remote MAC on
 * the VXLAN device (`self permanent`), and the remote MAC on the bridge (`master static`).
 * All names start with `${prefix}-raw-`, so the benchmark's cleanup finds them.
 */
import { addNamespaces, NO_BRNF, inNs, sh } from './kernel.js';

export interface RawPath {
  client: { ns: string; ip: string };
  server: { ns: string; ip: string };
  namespaces: string[];
}

const VNI = 100;
const UNDERLAY_MTU = 1500;
const OVERLAY_MTU = 1450;

interface RawHost {
  ns: string;
  ct: string;
  vtep: string;
  ip: string;
  mac: string;
}

export async function buildRawVxlan(prefix: string): Promise<RawPath> {
  const ul = `${prefix}-raw-ul`;
  const hosts: RawHost[] = [1, 2].map((i) => ({
    ns: `${prefix}-raw-h${i}`,
    ct: `${prefix}-raw-c${i}`,
    vtep: `10.97.0.${i + 1}`,
    ip: `10.96.0.${i}`,
    mac: `02:00:00:00:0${i}:01`,
  }));
  const namespaces = [ul, ...hosts.flatMap((h) => [h.ns, h.ct])];
  await addNamespaces(namespaces);

  const underlay = [`link add ul0 mtu ${UNDERLAY_MTU} type bridge`, 'link set ul0 up'];
  hosts.forEach((h, i) => {
    underlay.push(`link add ul-h${i + 1} mtu ${UNDERLAY_MTU} type veth peer name eth0 mtu ${UNDERLAY_MTU} netns ${h.ns}`);
    underlay.push(`link set ul-h${i + 1} master ul0 up`);
  });
  await sh(['ip', '-n', ul, '-batch', '-'], underlay.join('\n') + '\n');

  for (const [i, h] of hosts.entries()) {
    const remote = hosts[1 - i]!;
    await sh(inNs(h.ns, ['sysctl', '-q', '-w', ...NO_BRNF]));
    await sh(['ip', '-n', h.ns, '-batch', '-'], [
      'link set eth0 up',
      `addr add ${h.vtep}/24 dev eth0`,
      'link add br0 type bridge',
      `link add vxlan100 type vxlan id ${VNI} dstport 4789 local ${h.vtep} nolearning`,
      `link set vxlan100 mtu ${OVERLAY_MTU} master br0 up`,
      `link add vc mtu ${OVERLAY_MTU} type veth peer name eth0 netns ${h.ct} address ${h.mac} mtu ${OVERLAY_MTU}`,
      'link set vc master br0 up',
      'link set br0 up',
      '',
    ].join('\n'));
    await sh(['bridge', '-n', h.ns, '-batch', '-'], [
      `fdb append 00:00:00:00:00:00 dev vxlan100 dst ${remote.vtep} self permanent`,
      `fdb append ${remote.mac} dev vxlan100 dst ${remote.vtep} self permanent`,
      `fdb replace ${remote.mac} dev vxlan100 master static`,
      '',
    ].join('\n'));
    await sh(['ip', '-n', h.ct, '-batch', '-'], ['link set eth0 up', `addr add ${h.ip}/24 dev eth0`, ''].join('\n'));
  }
  return {
    client: { ns: hosts[0]!.ct, ip: hosts[0]!.ip },
    server: { ns: hosts[1]!.ct, ip: hosts[1]!.ip },
    namespaces,
  };
}
