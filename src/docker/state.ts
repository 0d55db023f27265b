/**
 * What the driver must remember across agent restarts that the controller cannot tell it:
 * which of *this* dockerd's network ids and IPAM pool ids stand for which Tenet network.
 * Docker's ids are per daemon (local scope, ADR 014), so this map is per host; everything
 * else (networks, endpoints, addresses) lives in the controller. dockerd never replays
 * CreateNetwork and never re-activates a plugin after a restart (protocols.md §5.1-5.2), so
 * the map is written to disk before a handler answers. The network sync can rebuild a lost
 * binding from dockerd's own record of the network (its name and `-o` options), and a lost
 * pool is rebuilt from its self-describing id (pool-id.ts) and that binding.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PoolRecord {
  id: string;
  subnet: string;
  /** The gateway answered to dockerd before the Tenet network existed. */
  gateway?: string;
  /** --aux-address values, reserved in Tenet once the network is bound. */
  aux: string[];
  /** --ip-range: where addresses dockerd asks for without naming one come from. */
  range?: string;
  /** The docker network this pool was used for (set at CreateNetwork). */
  dockerId?: string;
}

export interface BindingRecord {
  dockerId: string;
  tenant: string;
  /** `-o tenant=` as given; absent: the tenant comes from the docker name (NAME/TENANT) or is the default one. */
  tenantOption?: string;
  /** The Tenet network's name; absent while pending (its docker name is not known yet). */
  network?: string;
  subnet: string;
  gateway?: string;
  mtu?: number;
  vni?: number;
  /** `--internal`: no default route in the containers. Rebuilt from dockerd's `Internal` flag when the map is lost. */
  internal: boolean;
  poolId?: string;
  /** `--aux-address` values as dockerd records them (set when the binding is rebuilt from dockerd). */
  aux?: string[];
  createdAt: string;
}

interface Saved {
  pools: PoolRecord[];
  bindings: BindingRecord[];
}

export class DriverState {
  readonly pools = new Map<string, PoolRecord>();
  readonly bindings = new Map<string, BindingRecord>();

  /** `file` undefined: in memory only (unit tests). */
  constructor(private readonly file?: string) {
    if (!file) return;
    let saved: Saved = { pools: [], bindings: [] };
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
    } catch {
      // first start, or an unreadable file: the sync rebuilds bindings from dockerd
    }
    for (const p of saved.pools ?? []) this.pools.set(p.id, p);
    for (const b of saved.bindings ?? []) this.bindings.set(b.dockerId, b);
  }

  /** The binding of a Tenet network, if this dockerd has one. */
  bindingOf(tenant: string, network: string): BindingRecord | undefined {
    return [...this.bindings.values()].find((b) => b.tenant === tenant && b.network === network);
  }

  save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ pools: [...this.pools.values()], bindings: [...this.bindings.values()] }), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
