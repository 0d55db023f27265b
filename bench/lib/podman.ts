/**
 * The one place benchmarks get a private podman from (CNI backend, runc, vfs, its own
 * configuration and roots, a busybox image). The logic lives with the tests, as for dockerd.
 */
export { ensurePodman, PODMAN_IMAGE, PrivatePodman } from '../../test/support/podman.js';
