import { ActionIcon, Box, Checkbox, Group, Paper, SegmentedControl, Slider, Stack, Text, Tooltip } from '@mantine/core';
import type { Terminal } from '@xterm/xterm';
import { lazy, type ReactNode, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { PageLoader } from '../auth/RequireAuth';
import { MarkerList } from './MarkerList';
import { ProblemAlert } from '../common/errors';
import { formatClock } from '../common/format';
import { IconPlayerPause, IconPlayerPlay, IconRefresh } from '../common/icons';
import { type Cast, type CastEvent, parseCast, parseSize } from './asciicast';
import { createTerminal, screenText, TERMINAL_THEME } from './terminalSetup';

const AsciinemaView = lazy(() => import('./AsciinemaView').then((m) => ({ default: m.AsciinemaView })));

const SPEEDS = ['0.5', '1', '2', '4', '8'];
/** Pauses longer than this are shortened when "Skip idle pauses" is on (seconds). */
const IDLE_LIMIT = 2;

let wasmProbe: boolean | undefined;
/**
 * asciinema-player renders with WebAssembly, which a CSP without 'wasm-unsafe-eval' in script-src
 * forbids. Compiling the empty module tells, without an uncaught error in the console.
 */
export function wasmAllowed(): boolean {
  if (wasmProbe === undefined) {
    try {
      new WebAssembly.Module(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
      wasmProbe = true;
    } catch {
      wasmProbe = false;
    }
  }
  return wasmProbe;
}

declare global {
  interface Window {
    portcullisPlayer?: { text: () => string; time: () => number };
  }
}

/**
 * Plays an asciicast recording: asciinema-player (the gateway's CSP allows its WebAssembly), or,
 * where a stricter CSP in front of the gateway forbids WebAssembly, the same xterm.js the live terminal uses, with play / pause, seek, speed,
 * markers and "skip idle pauses".
 */
export function RecordingPlayer({ text }: { text: string }) {
  const [speed, setSpeed] = useState('1');
  const [skipIdle, setSkipIdle] = useState(true);
  const useAsciinema = wasmAllowed();
  const seekRef = useRef<((t: number) => void) | null>(null);
  const parsed = useMemo(() => {
    try {
      return { cast: parseCast(text, skipIdle ? IDLE_LIMIT : null), error: null };
    } catch (err) {
      return { cast: null, error: err };
    }
  }, [text, skipIdle]);

  const options = (
    <Group gap="md">
      <Group gap={6}>
        <Text size="xs" c="dimmed">
          Speed
        </Text>
        <SegmentedControl size="xs" value={speed} onChange={setSpeed} data={SPEEDS.map((s) => ({ value: s, label: `${s}×` }))} data-testid="player-speed" />
      </Group>
      <Checkbox size="xs" label={`Skip idle pauses (over ${IDLE_LIMIT} s)`} checked={skipIdle} onChange={(e) => setSkipIdle(e.currentTarget.checked)} data-testid="player-skip-idle" />
    </Group>
  );

  if (useAsciinema) {
    return (
      <Stack gap="xs" data-testid="recording-player" data-engine="asciinema">
        <Suspense fallback={<PageLoader />}>
          <AsciinemaView text={text} speed={Number(speed)} idleTimeLimit={skipIdle ? IDLE_LIMIT : null} seekRef={seekRef} />
        </Suspense>
        {options}
        {parsed.cast && <Markers cast={parsed.cast} seek={(t) => seekRef.current?.(t)} />}
      </Stack>
    );
  }
  if (!parsed.cast) return <ProblemAlert error={parsed.error} title="The recording cannot be played" />;
  return <XtermPlayer cast={parsed.cast} speed={Number(speed)} options={options} />;
}

/** Writes the events of a recording into a terminal along a clock that can be paused, moved and sped up. */
class Playback {
  private idx = 0;
  pos = 0;
  playing = false;
  speed = 1;
  private frame = 0;
  private last = 0;

  constructor(
    private readonly term: Terminal,
    private readonly cast: Cast,
    private readonly onChange: () => void,
  ) {}

  private apply(upTo: number): void {
    const events: CastEvent[] = this.cast.events;
    let out = '';
    while (this.idx < events.length && (events[this.idx]?.t ?? Infinity) <= upTo) {
      const e = events[this.idx++]!;
      if (e.code === 'o') out += e.data;
      else if (e.code === 'r') {
        const size = parseSize(e.data);
        if (out) this.term.write(out);
        out = '';
        if (size) this.term.resize(size.cols, size.rows);
      }
    }
    if (out) this.term.write(out);
  }

  private tick = (ts: number) => {
    this.pos = Math.min(this.cast.duration, this.pos + ((ts - this.last) / 1000) * this.speed);
    this.last = ts;
    this.apply(this.pos);
    if (this.pos >= this.cast.duration) {
      this.playing = false;
    } else this.frame = requestAnimationFrame(this.tick);
    this.onChange();
  };

  play(): void {
    if (this.playing) return;
    if (this.pos >= this.cast.duration) this.seek(0);
    this.playing = true;
    this.last = performance.now();
    this.frame = requestAnimationFrame(this.tick);
    this.onChange();
  }

  pause(): void {
    this.playing = false;
    cancelAnimationFrame(this.frame);
    this.onChange();
  }

  seek(t: number): void {
    const to = Math.max(0, Math.min(this.cast.duration, t));
    if (to < this.pos || this.idx === 0) {
      this.term.reset();
      this.term.resize(this.cast.cols, this.cast.rows);
      this.idx = 0;
    }
    this.pos = to;
    this.apply(to);
    this.last = performance.now();
    this.onChange();
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
  }
}

function XtermPlayer({ cast, speed, options }: { cast: Cast; speed: number; options: ReactNode }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const playbackRef = useRef<Playback | null>(null);
  const [, setVersion] = useState(0);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const term = createTerminal({ cols: cast.cols, rows: cast.rows, disableStdin: true, cursorBlink: false, scrollback: 1000, fontSize: 13 });
    term.open(host);
    let scheduled = 0;
    // Re-render the controls at most ten times a second while playing.
    const changed = () => {
      if (scheduled) return;
      scheduled = window.setTimeout(() => {
        scheduled = 0;
        setVersion((v) => v + 1);
      }, 100);
    };
    const pb = new Playback(term, cast, changed);
    pb.speed = speed;
    playbackRef.current = pb;
    window.portcullisPlayer = { text: () => screenText(term), time: () => pb.pos };
    pb.seek(0);
    pb.play();
    return () => {
      clearTimeout(scheduled);
      pb.dispose();
      term.dispose();
      playbackRef.current = null;
      delete window.portcullisPlayer;
    };
    // A new cast (idle pauses on / off) is a new timeline; speed is applied below.
    // biome-ignore lint/correctness/useExhaustiveDependencies: speed is applied without restarting
  }, [cast]);

  useEffect(() => {
    if (playbackRef.current) playbackRef.current.speed = speed;
  }, [speed]);

  const pb = playbackRef.current;
  const pos = pb?.pos ?? 0;
  const playing = pb?.playing ?? false;
  const toggle = () => (playing ? pb?.pause() : pb?.play());

  return (
    <Stack gap="xs" data-testid="recording-player" data-engine="xterm">
      <Box
        style={{ background: TERMINAL_THEME.background, borderRadius: 'var(--mantine-radius-md)', padding: 8, overflowX: 'auto' }}
        tabIndex={0}
        onKeyDown={(e) => {
          if (e.key === ' ') {
            e.preventDefault();
            toggle();
          }
        }}
        aria-label="Recording; space plays or pauses"
      >
        <div ref={hostRef} data-testid="player-screen" style={{ width: 'max-content' }} />
      </Box>
      <Paper withBorder radius="md" px="sm" py={6}>
        <Group gap="sm" wrap="nowrap">
          <Tooltip label={playing ? 'Pause' : pos >= cast.duration ? 'Play again' : 'Play'} withArrow>
            <ActionIcon size="lg" variant="filled" onClick={toggle} aria-label={playing ? 'Pause' : 'Play'} data-testid="player-toggle" data-playing={playing ? 'true' : 'false'}>
              {playing ? <IconPlayerPause size={16} /> : pos >= cast.duration && cast.duration > 0 ? <IconRefresh size={16} /> : <IconPlayerPlay size={16} />}
            </ActionIcon>
          </Tooltip>
          <Slider
            style={{ flex: 1 }}
            min={0}
            max={Math.max(cast.duration, 0.1)}
            step={0.1}
            value={Math.min(pos, cast.duration)}
            onChange={(v) => pb?.seek(v)}
            label={(v) => formatClock(v)}
            aria-label="Position"
            data-testid="player-seek"
          />
          <Text size="sm" ff="monospace" style={{ whiteSpace: 'nowrap' }} data-testid="player-time">
            {formatClock(pos)} / {formatClock(cast.duration)}
          </Text>
        </Group>
      </Paper>
      {options}
      <Markers cast={cast} seek={(t) => pb?.seek(t)} />
    </Stack>
  );
}

/** The recording's markers (watchers, warnings, the red button); a click seeks there. */
function Markers({ cast, seek }: { cast: Cast; seek: (t: number) => void }) {
  return (
    <>
      <MarkerList markers={cast.markers} seek={seek} />
      {cast.skipped > 0 && (
        <Text size="xs" c="orange">
          {cast.skipped} line{cast.skipped === 1 ? '' : 's'} of the recording could not be read and were skipped.
        </Text>
      )}
    </>
  );
}
