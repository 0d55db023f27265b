/**
 * The Docker grant checked in CreateNetwork (ADR 014 addendum, slice d8-docker): an agent
 * joined over https refuses a create for a tenant the admin did not grant its host, with the
 * `tenet docker allow` line to run; each refusal stands next to the same call allowed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireGrant, type DriverContext } from './context.js';

function ctx(grantHost: string | undefined, tenants: string[]): { ctx: DriverContext; asked: string[] } {
  const asked: string[] = [];
  const controller = { getDockerTenants: async (host: string) => (asked.push(host), { host, tenants }) };
  return { ctx: { grantHost, defaultTenant: 'default', controller } as unknown as DriverContext, asked };
}

const refused = (line: RegExp) => (err: unknown) => (err as { code?: string }).code === 'FORBIDDEN' && line.test((err as Error).message);

test('a named tenant: allowed when granted, else FORBIDDEN with the allow line', async () => {
  const granted = ctx('h1', ['acme']);
  await requireGrant(granted.ctx, 'acme');
  assert.deepEqual(granted.asked, ['h1']);
  await assert.rejects(requireGrant(granted.ctx, 'blue'), refused(/tenant blue.*tenet docker allow h1 blue/));
});

test('no tenant named (it may be in the name): refused only when the host has no grant at all', async () => {
  await requireGrant(ctx('h1', ['acme']).ctx, undefined);
  await assert.rejects(requireGrant(ctx('h1', []).ctx, undefined), refused(/granted it none.*tenet docker allow h1 TENANT.*default for a name without \/TENANT/));
});

test('an agent on the unix socket (admin) is not checked', async () => {
  const admin = ctx(undefined, []);
  await requireGrant(admin.ctx, 'blue');
  assert.deepEqual(admin.asked, [], 'no controller call');
});
