/**
 * TUN device + rtnetlink routing behind the Tunnel port (issue "The tunnel": in progress).
 */
import type { ClientOptions } from './config/index.ts';
import { OsError } from './errors.ts';
import type { Logger } from './log.ts';
import type { Tunnel } from './tunnel.ts';

export const TunTunnel = {
  async create(o: ClientOptions, log: Logger): Promise<Tunnel> {
    void log;
    throw new OsError('TUN_OPEN', `dev ${o.dev}: the TUN data path is not wired up yet in this build; use --dev null`);
  },
};
