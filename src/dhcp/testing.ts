/** Client messages as udhcpc sends them, for the unit and fuzz tests. */
import { MessageType, Opt } from './wire.js';

const MAC = '0a:58:c0:a8:0a:05';

/** A client message as udhcpc would send it. */
export function clientPacket(type: MessageType, opts: { mac?: string; xid?: number; ciaddr?: string; requested?: string; server?: string; giaddr?: string } = {}): Buffer {
  const head = Buffer.alloc(240);
  head[0] = 1;
  head[1] = 1;
  head[2] = 6;
  head.writeUInt32BE(opts.xid ?? 0x1234, 4);
  Buffer.from((opts.ciaddr ?? '0.0.0.0').split('.').map(Number)).copy(head, 12);
  Buffer.from((opts.giaddr ?? '0.0.0.0').split('.').map(Number)).copy(head, 24);
  Buffer.from((opts.mac ?? MAC).split(':').map((h) => parseInt(h, 16))).copy(head, 28);
  head.writeUInt32BE(0x63825363, 236);
  const o = [Opt.MESSAGE_TYPE, 1, type];
  if (opts.requested) o.push(Opt.REQUESTED_IP, 4, ...opts.requested.split('.').map(Number));
  if (opts.server) o.push(Opt.SERVER_ID, 4, ...opts.server.split('.').map(Number));
  o.push(Opt.PARAMS, 3, 1, 3, 6, Opt.END);
  return Buffer.concat([head, Buffer.from(o)]);
}

