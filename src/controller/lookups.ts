/**
 * Reads of one object that the caller needs to exist, each failing with its catalogued
 * not-found error and a fix. A malformed name cannot name a stored object, so it is reported
 * as not found too (and never reaches a store key).
 */
import { TenetError } from '../model/errors.js';
import { keys } from '../model/keys.js';
import type { Policy } from '../model/policy.js';
import type { Endpoint, Host, Network, Tenant } from '../model/types.js';
import { quoteValue, validateHostName, validateName } from '../model/validate.js';
import type { Store } from '../store/types.js';
import { getObj, type Stored } from './repo.js';

const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isValid(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

export const isEndpointId = (id: string): boolean => ENDPOINT_ID.test(id);

export async function requireTenant(store: Store, name: string): Promise<Stored<Tenant>> {
  const found = isValid(() => validateName('tenant', name)) ? await getObj<Tenant>(store, keys.tenant(name)) : undefined;
  const example = isValid(() => validateName('tenant', name)) ? name : 'NAME';
  if (!found) throw new TenetError('TENANT_NOT_FOUND', `no tenant named ${quoteValue(name)}`, `create it first (tenet tenant create ${example})`);
  return found;
}

export async function requireNetwork(store: Store, tenant: string, name: string): Promise<Stored<Network>> {
  const valid = isValid(() => validateName('tenant', tenant)) && isValid(() => validateName('network', name));
  const found = valid ? await getObj<Network>(store, keys.network(tenant, name)) : undefined;
  if (found) return found;
  await requireTenant(store, tenant);
  throw new TenetError('NETWORK_NOT_FOUND', `tenant ${tenant} has no network named ${quoteValue(name)}`, 'list its networks with tenet net ls');
}

export async function requireEndpoint(store: Store, id: string): Promise<Stored<Endpoint>> {
  const found = isEndpointId(id) ? await getObj<Endpoint>(store, keys.endpoint(id)) : undefined;
  if (!found) throw new TenetError('ENDPOINT_NOT_FOUND', `no endpoint with id ${quoteValue(id)}`, 'list endpoints with tenet ep ls');
  return found;
}

export async function requireHost(store: Store, name: string): Promise<Stored<Host>> {
  const found = isValid(() => validateHostName(name)) ? await getObj<Host>(store, keys.host(name)) : undefined;
  if (!found) {
    throw new TenetError('HOST_NOT_FOUND', `host ${quoteValue(name)} has not registered`, 'start the agent on it (tenet agent or tenet up)');
  }
  return found;
}

export async function requirePolicy(store: Store, tenant: string, name: string): Promise<Stored<Policy>> {
  const valid = isValid(() => validateName('tenant', tenant)) && isValid(() => validateName('policy', name));
  const found = valid ? await getObj<Policy>(store, keys.policy(tenant, name)) : undefined;
  if (found) return found;
  await requireTenant(store, tenant);
  throw new TenetError('POLICY_NOT_FOUND', `tenant ${tenant} has no policy named ${quoteValue(name)}`, `list its policies with tenet policy ls --tenant ${tenant}`);
}
