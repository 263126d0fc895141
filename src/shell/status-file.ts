/**
 * `status FILE n`: the statistics rewritten every n seconds (and once more at exit), each time
 * atomically (atomic-file.ts), so a reader never sees an empty file. A failure is logged once.
 */
import type { Logger } from '../log/logger.ts';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { formatStatus, type TrafficStats } from './status.ts';

export function startStatusFile(path: string, seconds: number, stats: TrafficStats, log: Logger): { stop(): void } {
  let warned = false;
  const write = (): void => {
    try {
      stats.refresh?.();
      writeFileAtomic(path, formatStatus(stats, new Date()));
    } catch (e) {
      if (!warned) log.warn(`cannot write the status file ${path}: ${(e as Error).message}`);
      warned = true;
    }
  };
  write();
  const timer = setInterval(write, Math.max(1, seconds) * 1000);
  return {
    stop() {
      clearInterval(timer);
      write();
    },
  };
}
