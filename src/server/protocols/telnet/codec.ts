/**
 * RFC 854 Telnet framing: a streaming decoder (IAC commands, option negotiation, subnegotiation)
 * and the encoders for what the gateway sends. No option logic here (see options.ts).
 *
 * The decoder is a byte-at-a-time state machine that keeps its state between chunks, so an IAC
 * sequence split across TCP segments is handled. Its only buffer is the subnegotiation payload,
 * capped (SB_CAP): a peer that sends a longer one gets an `sb-overflow` event and the rest of it
 * is skipped up to IAC SE, never stored.
 */

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const GA = 249;
export const NOP = 241;
export const SE = 240;

export const CR = 13;
export const LF = 10;
export const NUL = 0;

/** Options this implementation knows by name (for messages and `info.negotiated`). */
export const OPT = {
  BINARY: 0,
  ECHO: 1,
  SGA: 3,
  STATUS: 5,
  TIMING_MARK: 6,
  TTYPE: 24,
  NAWS: 31,
  TSPEED: 32,
  LFLOW: 33,
  LINEMODE: 34,
  XDISPLOC: 35,
  OLD_ENVIRON: 36,
  AUTHENTICATION: 37,
  ENCRYPT: 38,
  NEW_ENVIRON: 39,
} as const;

const OPTION_NAMES = new Map<number, string>(Object.entries(OPT).map(([name, code]) => [code, name]));

export function optionName(option: number): string {
  return OPTION_NAMES.get(option) ?? `OPTION-${option}`;
}

export type NegotiationVerb = typeof WILL | typeof WONT | typeof DO | typeof DONT;

export function verbName(verb: NegotiationVerb): string {
  return verb === WILL ? 'WILL' : verb === WONT ? 'WONT' : verb === DO ? 'DO' : 'DONT';
}

/** Default cap of one subnegotiation's payload (bytes between IAC SB <option> and IAC SE). */
export const SB_CAP = 1024;

export type TelnetEvent =
  /** Plain data, IAC IAC already collapsed and the NUL of CR NUL removed. */
  | { type: 'data'; data: Buffer }
  /** A two-byte command (IAC NOP, IAC GA, IAC AYT, IAC DM, ...). */
  | { type: 'command'; command: number }
  | { type: 'negotiate'; verb: NegotiationVerb; option: number }
  | { type: 'subnegotiation'; option: number; data: Buffer }
  /** The peer's subnegotiation exceeded the cap; its payload is discarded. */
  | { type: 'sb-overflow'; option: number };

const enum State {
  Data,
  Iac,
  Negotiate,
  SbOption,
  SbData,
  SbIac,
  SbSkip,
  SbSkipIac,
}

export class TelnetDecoder {
  private state = State.Data;
  private verb: NegotiationVerb = WILL;
  private sbOption = 0;
  private sb: Buffer;
  private sbLength = 0;
  /** The previous data byte was a CR: a following NUL is padding (CR NUL = bare CR). */
  private afterCr = false;

  constructor(readonly sbCap = SB_CAP) {
    this.sb = Buffer.alloc(sbCap);
  }

  /** Decodes one chunk; the events come out in stream order. */
  decode(chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = [];
    // Data is collected as runs of the input (no copy) and flushed before any other event.
    let runs: Uint8Array[] = [];
    let runStart = -1;
    const endRun = (end: number): void => {
      if (runStart >= 0 && end > runStart) runs.push(chunk.subarray(runStart, end));
      runStart = -1;
    };
    const flush = (): void => {
      if (runs.length === 0) return;
      const data = runs.length === 1 ? Buffer.from(runs[0]!) : Buffer.concat(runs);
      runs = [];
      events.push({ type: 'data', data });
    };
    const emit = (event: TelnetEvent): void => {
      flush();
      events.push(event);
    };

    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.state) {
        case State.Data:
          if (b === IAC) {
            endRun(i);
            this.state = State.Iac;
          } else if (b === NUL && this.afterCr) {
            endRun(i); // drop the NUL of CR NUL
            this.afterCr = false;
          } else {
            if (runStart < 0) runStart = i;
            this.afterCr = b === CR;
          }
          break;
        case State.Iac:
          if (b === IAC) {
            runs.push(Uint8Array.of(IAC)); // escaped 255 is data
            this.afterCr = false;
            this.state = State.Data;
          } else if (b === WILL || b === WONT || b === DO || b === DONT) {
            this.verb = b;
            this.state = State.Negotiate;
          } else if (b === SB) {
            this.state = State.SbOption;
          } else {
            // NOP, GA, AYT, DM, a stray SE, or a byte no RFC defines: a command without argument.
            emit({ type: 'command', command: b });
            this.state = State.Data;
          }
          break;
        case State.Negotiate:
          emit({ type: 'negotiate', verb: this.verb, option: b });
          this.state = State.Data;
          break;
        case State.SbOption:
          this.sbOption = b;
          this.sbLength = 0;
          this.state = State.SbData;
          break;
        case State.SbData:
          if (b === IAC) this.state = State.SbIac;
          else this.sbByte(b, emit);
          break;
        case State.SbIac:
          if (b === SE) {
            emit({ type: 'subnegotiation', option: this.sbOption, data: Buffer.from(this.sb.subarray(0, this.sbLength)) });
            this.state = State.Data;
          } else if (b === IAC) {
            this.state = State.SbData;
            this.sbByte(IAC, emit);
          } else {
            // IAC <command> inside SB breaks RFC 855: drop the subnegotiation, take the command.
            this.state = State.Iac;
            i--;
          }
          break;
        case State.SbSkip:
          if (b === IAC) this.state = State.SbSkipIac;
          break;
        case State.SbSkipIac:
          this.state = b === SE ? State.Data : State.SbSkip;
          break;
      }
    }
    endRun(chunk.length); // a run is only open in the Data state
    flush();
    return events;
  }

  private sbByte(b: number, emit: (e: TelnetEvent) => void): void {
    if (this.sbLength >= this.sbCap) {
      emit({ type: 'sb-overflow', option: this.sbOption });
      this.state = State.SbSkip;
      return;
    }
    this.sb[this.sbLength++] = b;
  }
}

/**
 * Encodes user data for the NVT: IAC doubled, a CR not followed by LF becomes CR NUL (RFC 854), so
 * a bare CR (xterm's Enter) reaches the asset as CR.
 */
export function encodeData(data: Uint8Array): Buffer {
  let extra = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === IAC || (b === CR && data[i + 1] !== LF)) extra++;
  }
  if (extra === 0) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.allocUnsafe(data.length + extra);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    out[o++] = b;
    if (b === IAC) out[o++] = IAC;
    else if (b === CR && data[i + 1] !== LF) out[o++] = NUL;
  }
  return out;
}

export function negotiation(verb: NegotiationVerb, option: number): Buffer {
  return Buffer.from([IAC, verb, option]);
}

/** IAC SB <option> <payload, IAC doubled> IAC SE */
export function subnegotiation(option: number, payload: Uint8Array): Buffer {
  const bytes: number[] = [IAC, SB, option];
  for (const b of payload) {
    bytes.push(b);
    if (b === IAC) bytes.push(IAC);
  }
  bytes.push(IAC, SE);
  return Buffer.from(bytes);
}
