/**
 * An index of a cache map: its objects grouped by a key (a tenant, a host), so the agent
 * finds one tenant's objects without walking every object it holds (issue 6: the plan for
 * one attach and its status report cost what that tenant holds, not what the cache holds).
 * The cache keeps each index in step with its map on every write.
 */
export class Grouped<T> {
  private readonly groups = new Map<string, Map<string, T>>();

  /** `keyOf`: the group of an object; undefined puts it in none (an endpoint on no host). */
  constructor(private readonly keyOf: (o: T) => string | undefined) {}

  add(id: string, o: T): void {
    const key = this.keyOf(o);
    if (key === undefined) return;
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = new Map()));
    group.set(id, o);
  }

  remove(id: string, o: T): void {
    const key = this.keyOf(o);
    const group = key === undefined ? undefined : this.groups.get(key);
    if (!group) return;
    group.delete(id);
    if (group.size === 0) this.groups.delete(key!); // a forgotten tenant leaves no empty group behind
  }

  /** The objects of one group (empty when it has none). */
  get(key: string): ReadonlyMap<string, T> {
    return this.groups.get(key) ?? (EMPTY as ReadonlyMap<string, T>);
  }

  /** Groups held now (tests check none is left empty). */
  get size(): number {
    return this.groups.size;
  }

  clear(): void {
    this.groups.clear();
  }
}

const EMPTY: ReadonlyMap<string, unknown> = new Map();
