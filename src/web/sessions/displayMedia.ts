import Guacamole from 'guacamole-common-js';
import type { MediaContext, SessionMedia } from './media';

/** Test hook: the remote display on this page. */
declare global {
  interface Window {
    portcullisDisplay?: { size: () => { width: number; height: number }; frames: () => number; scale: () => number };
  }
}

/** Guacamole wire format of one instruction (lengths in code points, as the protocol wants). */
function instruction(elements: unknown[]): string {
  return `${elements.map((e) => { const s = String(e); return `${[...s].length}.${s}`; }).join(',')};`;
}

/**
 * The remote display in the session page: guacamole-common-js draws the Guacamole instructions
 * the gateway sends (the asset's screen, already encoded as image tiles by the gateway) and, for
 * the owner, turns mouse and keyboard into Guacamole `mouse` / `key` instructions. The tunnel is
 * the session page's own WebSocket: text frames that are not JSON events are instructions.
 * The display scales down to fit the window, never up; the remote cursor becomes the page's cursor.
 */
export function createDisplayMedia(host: HTMLElement, ctx: MediaContext): SessionMedia {
  const { watching } = ctx;
  // Guacamole.Tunnel is a plain constructor in the library (abstract only in its typings).
  const TunnelClass = Guacamole.Tunnel as unknown as new () => Guacamole.Tunnel & { setState(state: Guacamole.Tunnel.State): void };
  const tunnel = new TunnelClass();
  const parser = new Guacamole.Parser();
  let open = false;
  let frames = 0;
  parser.oninstruction = (opcode, args) => {
    if (opcode === 'sync') frames++;
    tunnel.oninstruction?.(opcode, args);
  };
  tunnel.connect = () => tunnel.setState(Guacamole.Tunnel.State.OPEN);
  tunnel.disconnect = () => tunnel.setState(Guacamole.Tunnel.State.CLOSED);
  tunnel.sendMessage = (...elements: unknown[]) => {
    // The client acknowledges frames with `sync` (flow control) even when watching; the gateway
    // ignores a watcher's messages.
    if (open && !watching) ctx.send(instruction(elements));
  };

  const client = new Guacamole.Client(tunnel);
  const display = client.getDisplay();
  const element = display.getElement();
  element.setAttribute('data-testid', 'remote-display');
  host.appendChild(element);
  client.connect();

  // Fit: scale down to the window, never up.
  const fit = () => {
    const w = display.getWidth();
    const h = display.getHeight();
    if (!w || !h) return;
    const scale = Math.min(1, host.clientWidth / w, host.clientHeight / h);
    display.scale(scale > 0 ? scale : 1);
  };
  display.onresize = fit;
  // The owner tells the gateway the window's size once it stops changing: an RDP desktop follows
  // it (a reconnect at the new size); a VNC desktop keeps its own size and is scaled instead.
  const drawingArea = () => ({ width: Math.max(320, Math.floor(host.clientWidth)), height: Math.max(200, Math.floor(host.clientHeight)) });
  let sent = '';
  let sizeTimer: ReturnType<typeof setTimeout> | undefined;
  const sendSize = () => {
    const { width, height } = drawingArea();
    if (!open || watching || `${width}x${height}` === sent) return;
    sent = `${width}x${height}`;
    client.sendSize(width, height);
  };
  const observer = new ResizeObserver(() => {
    fit();
    clearTimeout(sizeTimer);
    sizeTimer = setTimeout(sendSize, 300);
  });
  observer.observe(host);

  // The remote cursor image becomes the local cursor over the display.
  display.showCursor(false);
  display.oncursor = (canvas, x, y) => {
    element.style.cursor = `url(${canvas.toDataURL('image/png')}) ${x} ${y}, default`;
  };

  const cleanups: (() => void)[] = [];
  if (!watching) {
    const mouse = new Guacamole.Mouse(element);
    const onMouse = (e: Guacamole.Mouse.Event) => {
      if (!open) return;
      client.sendMouseState(e.state, true);
      if (e.type !== 'mousemove') ctx.typed();
    };
    mouse.onEach(['mousedown', 'mouseup', 'mousemove'], onMouse as never);
    // Keys go to the display while it has the focus (click it first), not while typing elsewhere.
    host.tabIndex = 0;
    const keyboard = new Guacamole.Keyboard(host);
    keyboard.onkeydown = (keysym) => {
      if (open) {
        client.sendKeyEvent(1, keysym);
        ctx.typed();
      }
      return false;
    };
    keyboard.onkeyup = (keysym) => {
      if (open) client.sendKeyEvent(0, keysym);
    };
    element.addEventListener('mousedown', () => host.focus());
    cleanups.push(() => {
      keyboard.onkeydown = null;
      keyboard.onkeyup = null;
      keyboard.reset();
    });
    host.focus();
  }

  window.portcullisDisplay = { size: () => ({ width: display.getWidth(), height: display.getHeight() }), frames: () => frames, scale: () => display.getScale() };

  return {
    sizeParams: () => {
      const { width, height } = drawingArea();
      sent = `${width}x${height}`;
      return { width: String(width), height: String(height) };
    },
    receive(data) {
      if (typeof data === 'string') parser.receive(data);
    },
    opened() {
      open = true;
      sendSize(); // the window may have changed while connecting
    },
    resized() {},
    ended() {
      open = false;
      for (const c of cleanups.splice(0)) c();
      element.style.cursor = 'default';
    },
    dispose() {
      open = false;
      clearTimeout(sizeTimer);
      for (const c of cleanups.splice(0)) c();
      observer.disconnect();
      client.disconnect();
      element.remove();
      delete window.portcullisDisplay;
    },
  };
}
