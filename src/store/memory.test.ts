import { runConformance } from './conformance.js';
import { MemoryStore } from './memory.js';

runConformance('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});
