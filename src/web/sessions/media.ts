import type { LiveSessionView } from '../api/types';

/** How a media part talks back to the session page. */
export interface MediaContext {
  /** Read-only (over the shoulder): no input leaves this page. */
  watching: boolean;
  /** Sends to the gateway (only once the session is open). */
  send(data: string | Uint8Array): void;
  /** The user did something: an idle warning can go. */
  typed(): void;
}

/**
 * What differs between a terminal and a display in the session page: the drawing surface, the
 * gateway's media messages, and the user's input. The page keeps everything else (socket, events,
 * banners, the end screen).
 */
export interface SessionMedia {
  /** Query parameters that tell the gateway the size to open with (cols/rows or width/height). */
  sizeParams(): Record<string, string>;
  /** A media message from the gateway (binary terminal bytes, or Guacamole instructions). */
  receive(data: ArrayBuffer | string): void;
  /** The session is open (a watcher learns the owner's size here). */
  opened(session: LiveSessionView): void;
  /** The owner's terminal changed size (watchers follow). */
  resized(cols: number, rows: number): void;
  /** The session is over: input stops. */
  ended(): void;
  dispose(): void;
}
