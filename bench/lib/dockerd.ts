/**
 * The one place benchmarks get a private dockerd from (vfs storage, --bridge=none,
 * --iptables=false, its own roots and socket, a busybox image). The logic lives with the
 * tests for now; when it moves to src/lab/dockerd.ts only this line changes.
 */
export { BUSYBOX_IMAGE, TestDockerd } from '../../test/support/dockerd.js';
