/**
 * A CNI attachment's identity is (container id, ifname) (spec: the runtime never ADDs the
 * same pair twice without a DEL; libcni and podman key their caches by it, gotcha 22). The
 * endpoint id is derived from that pair, so DEL and CHECK find the endpoint with no state of
 * the plugin's own, and GC tells the runtime's attachments from the rest by recomputing it.
 * Labels carry the readable part (short container id, ifname, Kubernetes pod) for `tenet ep ls`.
 */
import { createHash } from 'node:crypto';
import type { Endpoint } from '../model/types.js';
import type { CniEnv } from './types.js';

export const CNI_ID_PREFIX = 'cni-';
export const CONTAINER_LABEL = 'tenet.cni.container';
export const IFNAME_LABEL = 'tenet.cni.ifname';
export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';

const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

export function endpointId(containerId: string, ifname: string): string {
  return `${CNI_ID_PREFIX}${createHash('sha256').update(`${containerId}\n${ifname}`).digest('hex').slice(0, 40)}`;
}

/** Made by an ADD (the id alone could be typed by hand; the label says the plugin made it). */
export const isCniEndpoint = (ep: Endpoint): boolean => ep.id.startsWith(CNI_ID_PREFIX) && CONTAINER_LABEL in ep.labels;

/** Labels of the endpoint an ADD makes; a value the label rule refuses is left out, not an error. */
export function cniLabels(env: CniEnv): Record<string, string> {
  const labels: Record<string, string> = {};
  const put = (key: string, value: string | undefined) => {
    if (value && LABEL_VALUE.test(value)) labels[key] = value;
  };
  put(CONTAINER_LABEL, env.containerId.slice(0, 12).replace(/[._-]+$/, ''));
  put(IFNAME_LABEL, env.ifname);
  put(POD_NAME_LABEL, env.args.podName);
  put(POD_NAMESPACE_LABEL, env.args.podNamespace);
  return labels;
}

/**
 * The endpoint's name: the pod's (podman passes the container name as K8S_POD_NAME), with
 * its Kubernetes namespace as `name.namespace` (pod names repeat across namespaces). A
 * name the endpoint rule refuses gives no name rather than a failed ADD.
 */
export function cniName(env: CniEnv): string | undefined {
  const { podName, podNamespace } = env.args;
  if (!podName) return undefined;
  const name = podNamespace ? `${podName}.${podNamespace}` : podName;
  return LABEL_VALUE.test(name) ? name : undefined;
}
