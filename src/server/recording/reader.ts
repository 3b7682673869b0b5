import { createReadStream } from 'node:fs';
import { access, open } from 'node:fs/promises';
import type { SigningKey } from './keys.js';
import { hashFile, manifestPathFor, type RecordingManifest, writeManifest } from './seal.js';

/** asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then one
 * `[time, code, data]` line per event. Codes the gateway writes: o (output), i (input),
 * r (resize, "COLSxROWS"), m (marker). */
export interface AsciicastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp?: number;
  duration?: number;
  idle_time_limit?: number;
  command?: string;
  title?: string;
  env?: Record<string, string>;
  [extra: string]: unknown;
}

export type AsciicastEvent = [time: number, code: string, data: string];

export class RecordingFormatError extends Error {}

export interface ParsedRecording {
  header: AsciicastHeader;
  events: AsciicastEvent[];
  /** Time of the last event (seconds since start); 0 when there are none. */
  lastTime: number;
  /** Bytes from the start of the file through the last complete, valid line. */
  validBytes: number;
  fileBytes: number;
  /** An incomplete last line (the process died mid-write), left out of `events`. */
  torn: { offset: number; bytes: number } | null;
  /** The last line is a complete event without its final newline (kept in `events`). */
  missingFinalNewline: boolean;
  /** Complete lines that are not valid events (not written by the gateway; a sign of tampering). */
  badLines: number[];
}

export interface RecoveredRecording extends ParsedRecording {
  /** A manifest already exists: nothing to recover. */
  sealed: boolean;
  /** ISO time from the header timestamp (whole seconds), null when the header has none. */
  startedAt: string | null;
}

function parseHeader(line: string): AsciicastHeader {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    throw new RecordingFormatError('the first line is not a JSON asciicast header');
  }
  const r = h as Record<string, unknown>;
  if (!h || typeof h !== 'object' || Array.isArray(h) || r.version !== 2) throw new RecordingFormatError('not an asciicast v2 recording (the header must say "version": 2)');
  if (!Number.isSafeInteger(r.width) || !Number.isSafeInteger(r.height)) throw new RecordingFormatError('the asciicast header needs integer width and height');
  return h as AsciicastHeader;
}

function parseEvent(line: string): AsciicastEvent | null {
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch {
    return null;
  }
  if (!Array.isArray(e) || e.length !== 3) return null;
  const [t, code, data] = e as unknown[];
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || typeof code !== 'string' || typeof data !== 'string') return null;
  return [t, code, data];
}

interface Line {
  text: string;
  start: number;
  end: number;
  /** Ended by "\n" (false only for the last segment of the file). */
  complete: boolean;
  /** Longer than MAX_LINE_BYTES: its text is dropped (the gateway never writes such lines). */
  oversized?: boolean;
}

/** The recorder splits large chunks, so its lines stay well under 1 MiB; anything longer is not ours. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

async function* lines(path: string): AsyncGenerator<Line> {
  let carry: Buffer[] = [];
  let carryLen = 0;
  let skipping = false; // inside an oversized line: count bytes, keep none
  let offset = 0; // file offset where the current line starts
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    let buf = chunk as Buffer;
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) !== -1) {
      const len = carryLen + nl;
      if (skipping) yield { text: '', start: offset, end: offset + len + 1, complete: true, oversized: true };
      else {
        const piece = carryLen ? Buffer.concat([...carry, buf.subarray(0, nl)]) : buf.subarray(0, nl);
        yield { text: piece.toString('utf8'), start: offset, end: offset + len + 1, complete: true };
      }
      offset += len + 1;
      carry = [];
      carryLen = 0;
      skipping = false;
      buf = buf.subarray(nl + 1);
    }
    if (buf.length) {
      if (!skipping) carry.push(buf);
      carryLen += buf.length;
      if (carryLen > MAX_LINE_BYTES && !skipping) {
        skipping = true;
        carry = [];
      }
    }
  }
  if (carryLen) {
    if (skipping) yield { text: '', start: offset, end: offset + carryLen, complete: false, oversized: true };
    else {
      const piece = Buffer.concat(carry);
      yield { text: piece.toString('utf8'), start: offset, end: offset + piece.length, complete: false };
    }
  }
}

/** Streams a recording: the header first, then events; a torn last line is reported, not thrown. */
export async function parseRecordingStream(path: string, onEvent: (e: AsciicastEvent) => void): Promise<Omit<ParsedRecording, 'events'>> {
  let header: AsciicastHeader | null = null;
  let lastTime = 0;
  let validBytes = 0;
  let fileBytes = 0;
  let torn: ParsedRecording['torn'] = null;
  let missingFinalNewline = false;
  const badLines: number[] = [];
  let lineNo = 0;
  for await (const line of lines(path)) {
    lineNo++;
    fileBytes = line.end;
    if (!header) {
      if (!line.complete || line.oversized) throw new RecordingFormatError('the recording header is incomplete');
      header = parseHeader(line.text);
      validBytes = line.end;
      continue;
    }
    if (line.complete && !line.oversized && line.text.trim() === '') {
      validBytes = line.end; // blank lines are harmless
      continue;
    }
    const event = line.oversized ? null : parseEvent(line.text);
    if (!event) {
      if (line.complete) badLines.push(lineNo);
      else torn = { offset: line.start, bytes: line.end - line.start };
      continue;
    }
    if (!line.complete) missingFinalNewline = true;
    lastTime = Math.max(lastTime, event[0]);
    validBytes = line.end;
    onEvent(event);
  }
  if (!header) throw new RecordingFormatError('the recording is empty');
  return { header, lastTime, validBytes, fileBytes, torn, missingFinalNewline, badLines };
}

/** Reads a whole recording (header and events) for playback and tests. */
export async function readRecording(path: string): Promise<ParsedRecording> {
  const events: AsciicastEvent[] = [];
  const rest = await parseRecordingStream(path, (e) => events.push(e));
  return { ...rest, events };
}

/**
 * For a recording whose recorder died (no manifest): the events up to the last complete line and
 * the last timestamp, so the broker can mark the session interrupted and seal what is there
 * (`sealInterruptedRecording` below).
 */
export async function recoverRecording(path: string): Promise<RecoveredRecording> {
  const parsed = await readRecording(path);
  const sealed = await access(manifestPathFor(path)).then(() => true, () => false);
  const ts = parsed.header.timestamp;
  const startedAt = typeof ts === 'number' && Number.isFinite(ts) ? new Date(ts * 1000).toISOString() : null;
  return { ...parsed, sealed, startedAt };
}

export interface SealInterruptedResult {
  manifest: RecordingManifest;
  manifestPath: string;
  recovered: RecoveredRecording;
  /** Bytes of a torn last line that were cut off before sealing. */
  truncatedBytes: number;
}

/**
 * Seals a recording whose recorder died: cuts a torn last line (so the file is valid line by
 * line), adds a missing final newline, and writes a signed manifest with `interrupted: true`.
 * `endedAt` defaults to the header start plus the last event time.
 */
export async function sealInterruptedRecording(path: string, signer: Pick<SigningKey, 'sign' | 'keyId'>, opts: { endedAt?: Date } = {}): Promise<SealInterruptedResult> {
  const recovered = await recoverRecording(path);
  if (recovered.sealed) throw new Error(`${path} is already sealed`);
  const fh = await open(path, 'r+');
  let truncatedBytes = 0;
  try {
    if (recovered.fileBytes > recovered.validBytes) {
      truncatedBytes = recovered.fileBytes - recovered.validBytes;
      await fh.truncate(recovered.validBytes);
    }
    if (recovered.missingFinalNewline) await fh.write(Buffer.from('\n'), 0, 1, recovered.validBytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const { sha256, bytes } = await hashFile(path);
  const startMs = recovered.startedAt ? Date.parse(recovered.startedAt) : Date.now();
  const endedAt = opts.endedAt ?? new Date(startMs + Math.round(recovered.lastTime * 1000));
  const { manifest, manifestPath } = await writeManifest(path, {
    sha256,
    bytes,
    events: recovered.events.length,
    startedAt: new Date(startMs).toISOString(),
    endedAt: endedAt.toISOString(),
    interrupted: true,
  }, signer);
  return { manifest, manifestPath, recovered, truncatedBytes };
}
