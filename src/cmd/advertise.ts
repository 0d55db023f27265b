/**
 * The https URL a controller replica gives out for itself (`--advertise-url`): what other
 * replicas, agents and `tenet status` show for it (its registration, ADR 022). Without the
 * flag it is guessed from the bound address, and a wildcard (`0.0.0.0`, `::`) names no
 * reachable host, so the hostname stands in (it is in the server certificate). Checked before
 * anything is written; its host goes into the server certificate, so clients that dial it
 * verify.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { TenetError } from '../model/errors.js';

const FIX = 'give the https URL clients dial for this replica, e.g. https://ctl-a.example.net:7400';

/** The validated URL (no trailing slash) and its host, or undefined without the flag. */
export function parseAdvertiseUrl(text: string | undefined, listen: string): { url: string; host: string } | undefined {
  if (text === undefined || text === '') return undefined;
  if (!listen) throw new TenetError('BAD_REQUEST', `--advertise-url ${text} needs --listen: without it the controller serves no https`, 'add --listen HOST:PORT');
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new TenetError('BAD_REQUEST', `invalid --advertise-url ${JSON.stringify(text)}: not a URL`, FIX);
  }
  const extra = u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash;
  if (u.protocol !== 'https:' || !u.hostname || extra) {
    throw new TenetError('BAD_REQUEST', `invalid --advertise-url ${JSON.stringify(text)}: give https://HOST[:PORT], nothing more`, FIX);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) {
    throw new TenetError('BAD_REQUEST', `invalid --advertise-url ${JSON.stringify(text)}: ${host} is not a DNS name or IP address`, FIX);
  }
  return { url: `${u.protocol}//${u.host}`, host };
}

/** The URL registered for this replica: the advertised one, else the bound address (a wildcard → the hostname). */
export function registeredUrl(advertised: string | undefined, bound: { address: string; family: string; port: number }): string {
  if (advertised) return advertised;
  const wildcard = bound.address === '0.0.0.0' || bound.address === '::';
  const host = wildcard ? hostname() : bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `https://${host}:${bound.port}`;
}
