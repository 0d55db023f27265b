/** The process logger: pino, JSON lines on stdout; TENET_LOG_LEVEL sets the level. */
import { pino } from 'pino';
import type { Logger } from '../base/logger.js';

export function createLogger(name: string): Logger {
  return pino({ name, level: process.env.TENET_LOG_LEVEL ?? 'info', base: { pid: process.pid } });
}
