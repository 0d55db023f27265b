/**
 * The one place benchmarks get a private dockerd from (vfs storage, --bridge=none,
 * --iptables=false, its own roots and socket, a busybox image): the lab's, the same one
 * tests use (src/lab/private-dockerd.ts).
 */
export { PRIVATE_BUSYBOX_IMAGE as BUSYBOX_IMAGE, PrivateDockerd } from '../../src/lab/private-dockerd.js';
