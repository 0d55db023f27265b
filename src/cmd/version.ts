import { readFileSync } from 'node:fs';

/** The package version, read once from package.json next to dist/. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
})();

/** The script to run to start another `tenet` process (the lab starts agents with it). */
export const TENET_SCRIPT = new URL('./tenet.js', import.meta.url).pathname;
