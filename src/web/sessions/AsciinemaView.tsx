import 'asciinema-player/dist/bundle/asciinema-player.css';
import * as AsciinemaPlayer from 'asciinema-player';
import { type MutableRefObject, useEffect, useRef } from 'react';

/**
 * asciinema-player (its own play / pause / seek bar, markers, keyboard shortcuts). Loaded only
 * where the CSP lets it compile its WebAssembly terminal (see wasmAllowed); seekRef lets the
 * markers list below it move the position. A speed or idle-limit
 * change recreates the player at the same position.
 */
export function AsciinemaView({ text, speed, idleTimeLimit, seekRef }: { text: string; speed: number; idleTimeLimit: number | null; seekRef: MutableRefObject<((t: number) => void) | null> }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const timeRef = useRef(0);
  const playingRef = useRef(true);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const player = AsciinemaPlayer.create({ data: text }, host, {
      speed,
      ...(idleTimeLimit !== null ? { idleTimeLimit } : {}),
      autoPlay: playingRef.current,
      startAt: timeRef.current,
      fit: 'width',
      terminalFontSize: '13px',
    });
    player.addEventListener('play', () => {
      playingRef.current = true;
    });
    player.addEventListener('pause', () => {
      playingRef.current = false;
    });
    player.addEventListener('ended', () => {
      playingRef.current = false;
    });
    // The terminal's text only (not the control bar, markers' tooltips or overlays).
    window.portcullisPlayer = { text: () => (host.querySelector('.ap-term') as HTMLElement | null)?.innerText ?? '', time: () => player.getCurrentTime() };
    seekRef.current = (t) => void player.seek(t);
    return () => {
      seekRef.current = null;
      timeRef.current = player.getCurrentTime();
      player.dispose();
      delete window.portcullisPlayer;
    };
  }, [text, speed, idleTimeLimit, seekRef]);

  return <div ref={hostRef} data-testid="player-screen" />;
}
