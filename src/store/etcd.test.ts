/**
 * The etcd backend against real etcd 3.4 members started by the test (testing/etcd-server.ts).
 * The conformance suite asserts absolute revisions (an empty store is at 0), so each case
 * gets a fresh single-member etcd; `reopen` restarts that member on its data (a restart is
 * what a durable backend's reopen means: etcd's new leader gives every lease a full TTL).
 */
import { runConformance } from './conformance.js';
import { EtcdStore } from './etcd.js';
import { startEtcd } from './testing/etcd-server.js';

runConformance('etcd', async () => {
  const etcd = await startEtcd();
  const open = () => new EtcdStore({ endpoints: etcd.endpoints });
  let store = open();
  return {
    store,
    reopen: async () => {
      await etcd.restart(0);
      return (store = open());
    },
    cleanup: async () => {
      await store.close();
      await etcd.stop();
    },
  };
});
