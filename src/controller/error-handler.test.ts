import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { assertError, testApp } from './testing.js';

test('errors: bad JSON, wrong content type and empty bodies are BAD_REQUEST with one clear line', async () => {
  const t = await testApp();
  const send = (payload: string, type?: string) =>
    t.app.inject({ method: 'POST', url: '/v1/tenants', payload, headers: type ? { 'content-type': type } : {} });
  const cases = [
    [await send('{"name":', 'application/json'), /not valid JSON/],
    [await send('name=acme', 'application/x-www-form-urlencoded'), /content type/],
    [await send('', 'application/json'), /empty/],
    [await send('hello', 'text/plain'), /JSON object/],
  ] as const;
  for (const [res, pattern] of cases) {
    const body = JSON.parse(res.body);
    const msg = assertError({ status: res.statusCode, body }, 'BAD_REQUEST');
    assert.match(msg, pattern);
    assert.ok(!msg.includes('\n'));
  }
  assert.equal(await t.store.revision(), 0);
  await t.app.close();
});

test('errors: an unknown route is BAD_REQUEST naming it', async () => {
  const t = await testApp();
  assert.match(assertError(await t.call('GET', '/v2/tenants?x=1'), 'BAD_REQUEST'), /GET \/v2\/tenants/);
  await t.app.close();
});

class BrokenStore extends MemoryStore {
  override async list(): Promise<never> {
    throw new Error('disk on fire at /secret/path');
  }
}

test('errors: unexpected failures are INTERNAL, logged with a stack, details not sent', async () => {
  const t = await testApp({ store: new BrokenStore() });
  const res = await t.call('GET', '/v1/tenants');
  const msg = assertError(res, 'INTERNAL');
  assert.ok(!msg.includes('secret'));
  const logged = t.logs.find((l) => l.level === 'error');
  assert.match(String(logged?.fields.err), /disk on fire/);
  assert.match(String(logged?.fields.stack), /BrokenStore/);
  await t.app.close();
});
