/**
 * How an agent comes to trust a controller over TCP and be trusted by it (ADR 006), after
 * k3s and kubeadm: the join token carries the SHA-256 of the controller's CA, so the agent
 * fetches the CA without trusting the connection (GET /v1/ca), checks the hash, and from then
 * on talks to the controller only over TLS verified against that CA. It then exchanges the
 * join token for a credential bound to its host name, and keeps the CA and the credential in
 * its state dir (the credential 0600), so a restart needs no join token.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caCertHash, parseJoinToken, sameDigest } from '../api/credentials.js';
import { ControllerClient } from '../api/client.js';
import { tokenApi } from '../api/token-client.js';
import { splitAddresses, type TransportOptions } from '../api/transport.js';
import type { Logger } from '../base/logger.js';
import { TenetError } from '../model/errors.js';
import { writeSecretFile } from './secrets.js';

export interface JoinConfig {
  controller: string;
  joinToken?: string;
  stateDir: string;
}

/** Transport options for this agent's controller client; joins first when it has to. */
export async function agentCredentials(cfg: JoinConfig, host: string, logger: Logger): Promise<TransportOptions> {
  // The unix socket is root-only: no token. Replicas share one CA and the store's credentials
  // (ADR 023), so one join is good for every address of the list.
  if (!splitAddresses(cfg.controller).some((a) => a.startsWith('https://'))) return {};
  const files = { ca: join(cfg.stateDir, 'controller-ca.crt'), credential: join(cfg.stateDir, 'credential') };
  if (existsSync(files.credential) && existsSync(files.ca)) {
    return { ca: readFileSync(files.ca, 'utf8'), token: readFileSync(files.credential, 'utf8').trim() };
  }
  if (!cfg.joinToken) throw new TenetError('UNAUTHENTICATED', `this agent has not joined ${cfg.controller} yet`, 'pass --join-token from `tenet token create --agent` on the controller');
  const token = parseJoinToken(cfg.joinToken);
  if (!token) throw new TenetError('UNAUTHENTICATED', 'the join token is malformed', 'copy it whole from `tenet token create --agent` (it starts with tenet-join.)');
  const ca = await fetchCheckedCa(cfg.controller, token.caHash);
  const verified = new ControllerClient(cfg.controller, { ca });
  try {
    const { credential } = await tokenApi(verified).join({ token: `${token.id}.${token.secret}`, host });
    writeSecretFile(files.credential, `${credential}\n`);
    writeFileSync(files.ca, ca, { mode: 0o644 });
    logger.info({ controller: cfg.controller, stateDir: cfg.stateDir, joinToken: token.id }, 'joined the controller; the credential is kept for restarts');
    return { ca, token: credential };
  } finally {
    verified.close();
  }
}

async function fetchCheckedCa(controller: string, expectedHash: string): Promise<string> {
  const untrusted = new ControllerClient(controller, { trustAnyServer: true, timeoutMs: 10_000 });
  try {
    const pem = await tokenApi(untrusted).caPem();
    let hash = '';
    try {
      hash = caCertHash(pem);
    } catch {
      // not a certificate: refused below
    }
    if (!sameDigest(hash, expectedHash)) {
      // Name the replica that answered: replicas must share one CA (ADR 023).
      throw new TenetError('UNAUTHENTICATED', `the CA served by ${untrusted.transport.currentAddress} does not match the join token`, 'check the address (something else may answer there) and the token; controller replicas must share DATA_DIR/tls/ca.crt and ca.key');
    }
    return pem;
  } finally {
    untrusted.close();
  }
}
