/**
 * Test support: real packets through a compiled ruleset. A router namespace R carries the
 * tenant table; a host namespace A sends one crafted IPv4 packet per flow into R on link 1
 * (raw socket, any source address) and listens on both links: a packet R forwarded comes back
 * on link 2 (allow), a TCP reset or ICMP unreachable R sent comes back on link 1 (reject),
 * nothing at all is a drop. Each flow is a new conntrack entry: its own IP id, source port
 * and ICMP echo id, which also name it in what comes back.
 */
import type { Flow } from '../check.js';
import { run, uniqueName } from './scratch.js';

export type WireVerdict = 'allow' | 'deny' | 'reject';

const PY = String.raw`
import json, socket, struct, sys, time, select
flows = json.load(sys.stdin)
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def packet(i, f):
    src, dst = socket.inet_aton(f['src']), socket.inet_aton(f['dst'])
    proto = {'tcp': 6, 'udp': 17, 'icmp': 1}[f['proto']]
    sport = 20000 + i
    if proto == 6:
        l4 = struct.pack('!HHIIBBHHH', sport, f['port'], 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    elif proto == 17:
        l4 = struct.pack('!HHHH', sport, f['port'], 8 + 4, 0) + b'test'
    else:
        l4 = struct.pack('!BBHHH', 8, 0, 0, i + 1, 1) + b'test'
    if proto == 1:
        l4 = l4[:2] + struct.pack('!H', csum(l4)) + l4[4:]
    else:
        pseudo = src + dst + struct.pack('!BBH', 0, proto, len(l4))
        at = 16 if proto == 6 else 6
        l4 = l4[:at] + struct.pack('!H', csum(pseudo + l4)) + l4[at + 2:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), i + 1, 0, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return ip + l4
def sniffer(dev):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((dev, 0))
    return s
out, back = sniffer('a2'), sniffer('a1')
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
tx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'a1')
verdicts = {}
def drain(timeout):
    while True:
        ready, _, _ = select.select([out, back], [], [], timeout)
        if not ready: return
        for s in ready:
            frame, addr = s.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING: continue
            ip = frame[14:]
            proto, hl = ip[9], (ip[0] & 15) * 4
            if s is out:
                verdicts[struct.unpack('!H', ip[4:6])[0] - 1] = 'allow'
            elif proto == 6 and ip[hl + 13] & 0x04:
                verdicts[struct.unpack('!H', ip[hl + 2:hl + 4])[0] - 20000] = 'reject'
            elif proto == 1 and ip[hl] == 3:
                inner = ip[hl + 8:]
                verdicts[struct.unpack('!H', inner[4:6])[0] - 1] = 'reject'
for i, f in enumerate(flows):
    tx.sendto(packet(i, f), (f['dst'], 0))
    drain(0.002)
drain(0.5)
print(json.dumps([verdicts.get(i, 'deny') for i in range(len(flows))]))
`;

export interface Wire {
  router: string;
  send(flows: Flow[]): WireVerdict[];
}

/** Builds A and R, runs `body`, removes both namespaces whatever happens. */
export async function withWire<T>(body: (w: Wire) => Promise<T> | T): Promise<T> {
  const r = uniqueName('polw');
  const a = `${r}a`;
  const inR = (...argv: string[]) => run(['ip', 'netns', 'exec', r, ...argv]);
  try {
    run(['ip', 'netns', 'add', r]);
    run(['ip', 'netns', 'add', a]);
    run(['ip', 'link', 'add', 'a1', 'netns', a, 'type', 'veth', 'peer', 'name', 'r1', 'netns', r]);
    run(['ip', 'link', 'add', 'a2', 'netns', a, 'type', 'veth', 'peer', 'name', 'r2', 'netns', r]);
    run(['ip', '-n', a, '-batch', '-'], 'addr add 169.254.1.1/30 dev a1\naddr add 169.254.2.1/30 dev a2\nlink set lo up\nlink set a1 up\nlink set a2 up\nroute add default via 169.254.1.2 dev a1\n');
    run(['ip', '-n', r, '-batch', '-'], 'addr add 169.254.1.2/30 dev r1\naddr add 169.254.2.2/30 dev r2\nlink set lo up\nlink set r1 up\nlink set r2 up\nroute add default via 169.254.1.1 dev r1\nroute add default via 169.254.2.1 dev r2 table 100\nrule add iif r1 lookup 100\n');
    for (const s of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.r1.rp_filter=0', 'net.ipv4.icmp_ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv4.icmp_msgs_burst=100000']) inR('sysctl', '-qw', s);
    inR('ping', '-c1', '-W1', '169.254.2.1');
    inR('ping', '-c1', '-W1', '169.254.1.1');
    const send = (flows: Flow[]) => JSON.parse(run(['ip', 'netns', 'exec', a, 'python3', '-c', PY], JSON.stringify(flows))) as WireVerdict[];
    return await body({ router: r, send });
  } finally {
    for (const ns of [a, r]) spawnDel(ns);
  }
}

function spawnDel(ns: string): void {
  try {
    run(['ip', 'netns', 'del', ns]);
  } catch {
    /* already gone, or never made */
  }
}
