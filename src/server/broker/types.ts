import type { EventEmitter } from 'node:events';
import type { TerminalSize } from '../protocols/types.js';

/**
 * The broker's public surface: the one object every path (browser WebSocket, SSH front door,
 * REST) uses to open, join, watch and terminate brokered sessions. See DESIGN.md "The flow of
 * one session".
 */
export type SessionState = 'pending' | 'active' | 'ended' | 'terminated' | 'failed' | 'interrupted';

/** What a session carries: terminal bytes (SSH, Telnet) or a display (VNC, RDP). */
export type SessionKind = 'terminal' | 'display';

export interface OpenRequest {
  userId: string;
  assetId: string;
  protocol: 'ssh' | 'telnet' | 'vnc' | 'rdp';
  port: number;
  /** Vault account to log in with; default: the asset's only account, or the one named 'default'. */
  accountId?: string;
  sourceIp: string | null;
  /** 'browser' (WebSocket terminal) or 'ssh' (front door). */
  via: 'browser' | 'ssh';
  size: TerminalSize;
  term?: string;
  /** SSH exec: run this command instead of a shell (recorded too). */
  command?: string;
  /** Displays (VNC, RDP): the browser's drawing area in pixels (RDP sessions take this size). */
  screen?: { width: number; height: number };
  /** SSH exec: with a pseudo-terminal (default true; `ssh gw cmd` without -t passes false). */
  pty?: boolean;
  /** Break-glass: emergency access bypassing approvals and moderation, with the user's written reason. */
  breakGlass?: { reason: string };
  /** The session waits at a gate (a live approval, a moderator): tell the user. */
  onWait?: (w: { sessionId: string; waitingFor: 'approval' | 'moderator'; message: string }) => void;
  /** The user left while waiting (browser closed, SSH client gone): give up. */
  signal?: AbortSignal;
}

/** Messages a participant receives besides terminal bytes. */
export type ParticipantEvent =
  | { type: 'state'; state: SessionState; message?: string }
  | { type: 'watchers'; watchers: { name: string; since: string }[] }
  | { type: 'warning'; message: string; secondsLeft: number }
  /** To watchers: the owner's terminal changed size (a watcher shows it at the owner's size). */
  | { type: 'resize'; cols: number; rows: number }
  /** A moderated session paused (no moderator watches: input and output stop) or resumed. */
  | { type: 'paused'; paused: boolean; message: string }
  | { type: 'ended'; state: SessionState; reason: string; message: string };

export interface Participant {
  /** 'owner' types; 'watcher' only reads (over the shoulder). */
  role: 'owner' | 'watcher';
  /** A watcher who moderates (a moderated session runs only while one watches). */
  moderator?: boolean;
  /** Shown to the others ("alice", "admin (watching)"). */
  name: string;
  userId: string;
  /** Terminal output for this participant; return false when its buffer is full (backpressure). */
  output(data: Buffer): boolean;
  /** Called when a full participant may take more again: see resume(). */
  event(ev: ParticipantEvent): void;
}

export interface LiveSessionView {
  id: string;
  kind: SessionKind;
  state: SessionState;
  userId: string;
  username: string;
  assetId: string;
  assetName: string;
  protocol: 'ssh' | 'telnet' | 'vnc' | 'rdp';
  port: number;
  startedAt: string | null;
  /** The owner's terminal size now (columns, rows), or the display's size in pixels (width, height). */
  cols: number;
  rows: number;
  watchers: { name: string; since: string }[];
  /** Runs only while a moderator watches (watch required). */
  moderated: boolean;
  /** Moderated and no moderator watching right now: input and output wait. */
  paused: boolean;
  /** Since when it is paused (null while not). */
  pausedSince: string | null;
  /** Opened by break-glass (flagged for review). */
  breakGlass: boolean;
}

export interface LiveSession extends EventEmitter {
  readonly id: string;
  /** The current state (cheap; view() builds the whole picture). */
  readonly state: SessionState;
  view(): LiveSessionView;
  /** Joins as owner (one at a time) or watcher; watchers first get the current screen. Returns detach. */
  attach(p: Participant): () => void;
  /** Keystrokes from the owner (resets the idle timer; recorded as input). */
  input(data: Buffer): void;
  resize(size: TerminalSize): void;
  /** The owner's input has ended (SSH exec stdin EOF): the asset sees end of input. */
  endInput(): void;
  /** A participant that returned false from output() can take more now. */
  resume(): void;
  /** Warns the participants that the session ends in ms (e.g. its access window closes). */
  warn?(message: string, ms: number): void;
  /** Ends the session normally (the user left); the recording is sealed. */
  close(message: string): Promise<void>;
  /** Resolves with the final state once the session is over. */
  readonly done: Promise<{ state: SessionState; reason: string }>;
}
