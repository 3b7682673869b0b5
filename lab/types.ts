/** Public types of the demo lab (re-exported by lab/index.ts). */

export interface LabPorts {
  ssh: number;
  telnet: number;
  vnc: number;
  rdp: number;
}

export const DEFAULT_LAB_PORTS: LabPorts = { ssh: 2201, telnet: 2323, vnc: 5901, rdp: 33890 };

export type LabProtocol = 'ssh' | 'telnet' | 'vnc' | 'rdp';

export interface LabTarget {
  /** 'PLC-01' (ssh), 'RTU-02' (telnet), 'HMI-03' (vnc), 'SCADA-04' (rdp) */
  name: string;
  protocol: LabProtocol;
  host: '127.0.0.1';
  port: number;
  /** undefined for VNC (VNC authentication has a password only) */
  username?: string;
  /** generated once per data dir, kept in <dataDir>/lab/credentials.json (mode 0600) */
  password: string;
  /** Purdue model level of the simulated asset */
  purdueLevel: number;
  description: string;
}

export interface Lab {
  targets: LabTarget[];
  /** Kills every process the lab started (whole process trees). Idempotent. */
  stop(): Promise<void>;
  /** <dataDir>/lab: configs, keys, logs, credentials.json */
  readonly labDir: string;
  /** X display numbers in use: VNC desktop (Xvnc) and RDP desktop (Xvfb). */
  readonly displays: { vnc: number; rdp: number };
  /** Pids of every live process the lab started, including descendants (sessions). */
  pids(): number[];
}

export interface StartLabOptions {
  dataDir: string;
  ports?: Partial<LabPorts>;
  /** First X display number to try (default 50); taken numbers are skipped. */
  displayBase?: number;
  log?: (msg: string) => void;
  /**
   * Local Unix account used by the SSH and Telnet targets (default 'pcdemo'). It is created if
   * missing and its password is set to the one of this data dir, so two labs that run at the same
   * time need different accounts (the tests use their own).
   */
  account?: string;
  /** Per target: how long to wait for it to accept connections (default 20000 ms). */
  readyTimeoutMs?: number;
}
