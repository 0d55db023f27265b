/**
 * Client side of the token routes (admin: create/list/remove join tokens, revoke a host's
 * credential; public: fetch the CA, join). Kept apart from ControllerClient so that the
 * routes a normal caller uses stay in one short class.
 */
import type { ControllerClient } from './client.js';
import type { CreatedToken, JoinRequest, JoinResponse, TokenInfo } from './credentials.js';

const enc = encodeURIComponent;

export function tokenApi(c: ControllerClient) {
  const t = c.transport;
  return {
    createAgentToken: (ttlSeconds?: number) => t.request<CreatedToken>('POST', '/v1/tokens', { kind: 'agent', ...(ttlSeconds ? { ttlSeconds } : {}) }),
    list: () => t.request<TokenInfo[]>('GET', '/v1/tokens'),
    remove: (id: string) => t.request<void>('DELETE', `/v1/tokens/${enc(id)}`),
    revokeHost: (host: string) => t.request<void>('DELETE', `/v1/hosts/${enc(host)}/credential`),
    caPem: () => t.request<string>('GET', '/v1/ca'),
    join: (req: JoinRequest) => t.request<JoinResponse>('POST', '/v1/join', req),
  };
}
