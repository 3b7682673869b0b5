import { FitAddon } from '@xterm/addon-fit';
import type { LiveSessionView } from '../api/types';
import type { MediaContext, SessionMedia } from './media';
import { attachClipboardKeys, createTerminal, screenText } from './terminalSetup';

const encoder = new TextEncoder();

/** Test hook: the screen of the terminal on this page (the tests read it instead of the DOM). */
declare global {
  interface Window {
    portcullisTerminal?: { text: () => string; size: () => { cols: number; rows: number } };
  }
}

/**
 * The terminal in the session page: xterm.js fills the window (the owner's) or follows the
 * owner's size (a watcher's, scrolling when larger); keystrokes and size changes go to the gateway.
 */
export function createTerminalMedia(host: HTMLElement, ctx: MediaContext): SessionMedia {
  const { watching } = ctx;
  const term = createTerminal(watching ? { disableStdin: true, cursorBlink: false } : {});
  const fit = new FitAddon();
  term.loadAddon(fit);
  attachClipboardKeys(term);
  term.open(host);
  window.portcullisTerminal = { text: () => screenText(term), size: () => ({ cols: term.cols, rows: term.rows }) };
  const safeFit = () => {
    try {
      fit.fit();
    } catch {
      // not laid out yet
    }
  };
  // The owner's terminal fills the window; a watcher's follows the owner's size instead.
  if (!watching) safeFit();
  term.focus();

  let open = false;
  let sentSize = { cols: term.cols, rows: term.rows };
  const sendResize = () => {
    if (watching || !open) return;
    if (term.cols === sentSize.cols && term.rows === sentSize.rows) return;
    sentSize = { cols: term.cols, rows: term.rows };
    ctx.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
  };
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  const resizeSub = term.onResize(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(sendResize, 120);
  });
  let frame = 0;
  const observer = new ResizeObserver(() => {
    if (watching) return;
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(safeFit);
  });
  observer.observe(host);

  const send = (bytes: Uint8Array) => {
    if (watching) return;
    ctx.send(bytes);
    ctx.typed();
  };
  const dataSub = term.onData((d) => send(encoder.encode(d)));
  const binarySub = term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));

  return {
    sizeParams: () => {
      sentSize = { cols: term.cols, rows: term.rows };
      return { cols: String(term.cols), rows: String(term.rows) };
    },
    receive(data) {
      if (typeof data !== 'string') term.write(new Uint8Array(data));
    },
    opened(session: LiveSessionView) {
      open = true;
      // A watcher sees the owner's screen at the owner's size (scrolls if it is larger).
      if (watching) term.resize(session.cols, session.rows);
      // The window may have changed size while the asset was logging us in.
      sendResize();
    },
    resized(cols, rows) {
      if (watching) term.resize(cols, rows);
    },
    ended() {
      term.options.disableStdin = true;
      term.options.cursorBlink = false;
    },
    dispose() {
      clearTimeout(resizeTimer);
      cancelAnimationFrame(frame);
      observer.disconnect();
      dataSub.dispose();
      binarySub.dispose();
      resizeSub.dispose();
      term.dispose();
      delete window.portcullisTerminal;
    },
  };
}
