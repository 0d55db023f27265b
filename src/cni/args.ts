/**
 * CNI_ARGS (`K1=V1;K2=V2`, protocols.md §4.2): the keys Tenet honours are IP=, MAC= and
 * Kubernetes' pod name and namespace; the reference plugins refuse keys they do not know
 * unless IgnoreUnknown=1 (a CONVENTIONS.md rule podman and kubelet rely on), and so does Tenet.
 */
import { TenetError } from '../model/errors.js';
import { shown } from '../model/validate-endpoint.js';
import type { CniArgs } from './types.js';

/** Keys runtimes pass that Tenet knows but has no use for. */
const KNOWN_UNUSED = new Set(['IgnoreUnknown', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID']);
const FIELD_OF: Record<string, keyof CniArgs> = { IP: 'ip', MAC: 'mac', K8S_POD_NAME: 'podName', K8S_POD_NAMESPACE: 'podNamespace' };
const MAX_ARGS = 4096;

export function parseCniArgs(text: string): CniArgs {
  if (text.length > MAX_ARGS) throw invalid(`CNI_ARGS is ${text.length} characters long (at most ${MAX_ARGS})`);
  const pairs = text === '' ? [] : text.split(';').map(splitPair);
  const ignoreUnknown = pairs.some(([k, v]) => k === 'IgnoreUnknown' && truthy(v));
  const out: CniArgs = {};
  for (const [key, value] of pairs) {
    const field = FIELD_OF[key];
    if (field) out[field] = value;
    else if (!KNOWN_UNUSED.has(key) && !ignoreUnknown) throw invalid(`CNI_ARGS has the unknown key ${shown(key)}`, 'add IgnoreUnknown=1, or pass only IP=, MAC=, K8S_POD_NAME=, K8S_POD_NAMESPACE=');
  }
  return out;
}

function splitPair(pair: string): [string, string] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw invalid(`CNI_ARGS has the malformed pair ${shown(pair)}`, 'write KEY=VALUE pairs separated by ";"');
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}

/** Go's strconv.ParseBool, which libcni uses for IgnoreUnknown. */
const truthy = (v: string): boolean => ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);

const invalid = (message: string, fix?: string) => new TenetError('CNI_INVALID_ENV', message, fix);
