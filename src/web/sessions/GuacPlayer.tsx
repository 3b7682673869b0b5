import { ActionIcon, Box, Group, Paper, Slider, Stack, Text, Tooltip } from '@mantine/core';
import Guacamole from 'guacamole-common-js';
import { useEffect, useMemo, useRef, useState } from 'react';
import { formatClock } from '../common/format';
import { IconPlayerPause, IconPlayerPlay, IconRefresh } from '../common/icons';
import { MarkerList } from './MarkerList';

/** Test hook: the display recording player on this page. */
declare global {
  interface Window {
    portcullisGuacPlayer?: { position: () => number; duration: () => number; playing: () => boolean; canvas: () => HTMLCanvasElement };
  }
}

interface Marker {
  /** Milliseconds from the start of the recording. */
  at: number;
  label: string;
}

/**
 * Markers of a `.guac` recording (`marker,<epoch ms>,<label>` written by the gateway), placed on
 * the player's timeline, which starts at the first `sync`.
 */
function readMarkers(text: string): Marker[] {
  const parser = new Guacamole.Parser();
  const raw: { epoch: number; label: string }[] = [];
  let first: number | null = null;
  parser.oninstruction = (opcode, args) => {
    if (opcode === 'sync' && first === null) first = Number(args[0]);
    if (opcode === 'marker' && args.length >= 2) raw.push({ epoch: Number(args[0]), label: String(args[1]) });
  };
  try {
    parser.receive(text);
  } catch {
    // a torn last instruction (interrupted recording): what was read is enough
  }
  const start = first ?? 0;
  return raw.filter((m) => !m.label.startsWith('portcullis display recording')).map((m) => ({ at: Math.max(0, m.epoch - start), label: m.label }));
}

/**
 * Plays a display recording (VNC/RDP, Guacamole instructions) with Guacamole.SessionRecording:
 * play, pause, seek on the timeline, and the markers (watchers, warnings, the red button) as
 * links that seek there.
 */
export function GuacPlayer({ text }: { text: string }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const recRef = useRef<Guacamole.SessionRecording | null>(null);
  const [duration, setDuration] = useState(0);
  const [position, setPosition] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const markers = useMemo(() => readMarkers(text), [text]);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    // guacamole-common-js 1.5.0 does not keep a Blob source: the recording is fed through a tunnel
    // of our own (its instructions, then CLOSED, which ends the loading).
    const TunnelClass = Guacamole.Tunnel as unknown as new () => Guacamole.Tunnel & { setState(state: Guacamole.Tunnel.State): void };
    const tunnel = new TunnelClass();
    tunnel.connect = () => {};
    tunnel.disconnect = () => {};
    tunnel.sendMessage = () => {};
    const recording = new Guacamole.SessionRecording(tunnel);
    recRef.current = recording;
    const display = recording.getDisplay();
    const element = display.getElement();
    element.setAttribute('data-testid', 'recording-display');
    host.appendChild(element);
    const fit = () => {
      const w = display.getWidth();
      const h = display.getHeight();
      if (w && h) display.scale(Math.min(1, host.clientWidth / w));
    };
    display.onresize = fit;
    const observer = new ResizeObserver(fit);
    observer.observe(host);
    recording.onprogress = (d) => setDuration(d);
    recording.onload = () => {
      setDuration(recording.getDuration());
      setLoaded(true);
      recording.play();
    };
    recording.onplay = () => setPlaying(true);
    recording.onpause = () => setPlaying(false);
    recording.onseek = (pos) => setPosition(pos);
    recording.connect();
    tunnel.setState(Guacamole.Tunnel.State.OPEN);
    const parser = new Guacamole.Parser();
    parser.oninstruction = (opcode, args) => tunnel.oninstruction?.(opcode, args);
    // In slices, so a long recording does not freeze the page while it loads.
    let offset = 0;
    let cancelled = false;
    const SLICE = 1 << 20;
    const feed = () => {
      if (cancelled) return;
      // Cut after an instruction's ';' (never inside a character or an instruction).
      const cut = offset + SLICE >= text.length ? text.length : text.indexOf(';', offset + SLICE) + 1 || text.length;
      try {
        parser.receive(text.slice(offset, cut));
        offset = cut;
      } catch {
        // a torn last instruction (interrupted recording): play what was read
        offset = text.length;
      }
      if (offset < text.length) setTimeout(feed, 0);
      else tunnel.setState(Guacamole.Tunnel.State.CLOSED);
    };
    feed();
    window.portcullisGuacPlayer = {
      position: () => recording.getPosition(),
      duration: () => recording.getDuration(),
      playing: () => recording.isPlaying(),
      canvas: () => display.flatten(),
    };
    return () => {
      cancelled = true;
      observer.disconnect();
      recording.pause();
      recording.disconnect();
      element.remove();
      recRef.current = null;
      delete window.portcullisGuacPlayer;
    };
  }, [text]);

  const rec = recRef.current;
  const toggle = () => {
    if (!rec) return;
    if (rec.isPlaying()) rec.pause();
    else {
      if (rec.getPosition() >= rec.getDuration()) rec.seek(0);
      rec.play();
    }
  };
  const seek = (ms: number) => rec?.seek(Math.max(0, Math.min(ms, duration)));

  return (
    <Stack gap="xs" data-testid="recording-player" data-engine="guacamole" data-loaded={loaded ? 'true' : 'false'}>
      <Box style={{ background: '#10151c', borderRadius: 'var(--mantine-radius-md)', padding: 8, overflow: 'hidden' }}>
        <div ref={hostRef} data-testid="player-screen" style={{ width: '100%' }} />
      </Box>
      <Paper withBorder radius="md" px="sm" py={6}>
        <Group gap="sm" wrap="nowrap">
          <Tooltip label={playing ? 'Pause' : position >= duration && duration > 0 ? 'Play again' : 'Play'} withArrow>
            <ActionIcon size="lg" variant="filled" onClick={toggle} aria-label={playing ? 'Pause' : 'Play'} data-testid="player-toggle" data-playing={playing ? 'true' : 'false'}>
              {playing ? <IconPlayerPause size={16} /> : position >= duration && duration > 0 ? <IconRefresh size={16} /> : <IconPlayerPlay size={16} />}
            </ActionIcon>
          </Tooltip>
          <Slider
            style={{ flex: 1 }}
            min={0}
            max={Math.max(duration, 100)}
            step={100}
            value={Math.min(position, duration)}
            onChange={seek}
            label={(v) => formatClock(v / 1000)}
            aria-label="Position"
            data-testid="player-seek"
          />
          <Text size="sm" ff="monospace" style={{ whiteSpace: 'nowrap' }} data-testid="player-time">
            {formatClock(position / 1000)} / {formatClock(duration / 1000)}
          </Text>
        </Group>
      </Paper>
      <MarkerList markers={markers.map((m) => ({ t: m.at / 1000, label: m.label }))} seek={(t) => seek(t * 1000)} />
    </Stack>
  );
}
