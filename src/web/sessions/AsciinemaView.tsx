import 'asciinema-player/dist/bundle/asciinema-player.css';
import * as AsciinemaPlayer from 'asciinema-player';
import { useEffect, useRef } from 'react';

/**
 * asciinema-player (its own play / pause / seek bar, markers, keyboard shortcuts). Loaded only
 * where the CSP lets it compile its WebAssembly terminal (see wasmAllowed). A speed or idle-limit
 * change recreates the player at the same position.
 */
export function AsciinemaView({ text, speed, idleTimeLimit }: { text: string; speed: number; idleTimeLimit: number | null }) {
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
    window.portcullisPlayer = { text: () => host.innerText, time: () => player.getCurrentTime() };
    return () => {
      timeRef.current = player.getCurrentTime();
      player.dispose();
      delete window.portcullisPlayer;
    };
  }, [text, speed, idleTimeLimit]);

  return <div ref={hostRef} data-testid="player-screen" />;
}
