/** What each target starter (ssh.ts, telnet.ts, vnc.ts, rdp.ts) gets from startLab. */
import type { Supervisor } from './process.js';

export interface TargetContext {
  sup: Supervisor;
  /** this target's own folder: <dataDir>/lab/<protocol> (mode 0700) */
  dir: string;
  port: number;
  readyTimeoutMs: number;
  log: (msg: string) => void;
}

/** Text lines shown by the graphical targets and used as banners. */
export const PLANT = 'Demo Plant';
export const LAB_TAG = 'Portcullis demo lab';
