/**
 * Telnet option negotiation: the Q method of RFC 1143 per option and direction, so the gateway
 * never answers an acknowledgment (the classic negotiation loop), plus a budget that ends a peer
 * flooding negotiation commands.
 *
 * Supported, everything else refused:
 * - the gateway (local side, answers DO/DONT): NAWS (RFC 1073, window size now and on every
 *   resize), TTYPE (RFC 1091, answers SEND with the configured terminal type), SGA.
 * - the asset (remote side, answers WILL/WONT): ECHO (the asset echoes), SGA.
 */
import type { TerminalSize } from '../types.js';
import { DO, DONT, type NegotiationVerb, OPT, optionName, negotiation, subnegotiation, WILL, WONT } from './codec.js';

const LOCAL_SUPPORTED = new Set<number>([OPT.NAWS, OPT.TTYPE, OPT.SGA]);
const REMOTE_SUPPORTED = new Set<number>([OPT.ECHO, OPT.SGA]);

const TTYPE_IS = 0;
const TTYPE_SEND = 1;

export const MAX_TERMINAL_DIMENSION = 1000;

/** Cols and rows as integers in 1..1000 (a size we announce; never trust a caller's huge value). */
export function clampSize(size: TerminalSize): TerminalSize {
  const clamp = (v: number, fallback: number): number =>
    Number.isFinite(v) ? Math.min(MAX_TERMINAL_DIMENSION, Math.max(1, Math.round(v))) : fallback;
  return { cols: clamp(size.cols, 80), rows: clamp(size.rows, 24) };
}

/** NAWS subnegotiation: width and height as 16-bit big-endian (255 bytes doubled by the encoder). */
export function nawsPacket(size: TerminalSize): Buffer {
  const { cols, rows } = clampSize(size);
  return subnegotiation(OPT.NAWS, Uint8Array.of(cols >> 8, cols & 0xff, rows >> 8, rows & 0xff));
}

type Q = 'no' | 'yes' | 'wantno' | 'wantyes';

interface Side {
  state: Q;
  /** RFC 1143 queue bit: the opposite of the pending request was asked meanwhile. */
  opposite: boolean;
  /** We already refused this option in this direction: a repeated request is not answered again. */
  refused: boolean;
}

export interface NegotiatorOptions {
  term: string;
  size: TerminalSize;
  send: (bytes: Buffer) => void;
}

export class OptionNegotiator {
  private readonly local = new Map<number, Side>();
  private readonly remote = new Map<number, Side>();
  private size: TerminalSize;

  constructor(private readonly opts: NegotiatorOptions) {
    this.size = clampSize(opts.size);
  }

  private side(map: Map<number, Side>, option: number): Side {
    let s = map.get(option);
    if (!s) {
      s = { state: 'no', opposite: false, refused: false };
      map.set(option, s);
    }
    return s;
  }

  /** Handles one WILL/WONT/DO/DONT from the asset; sends whatever RFC 1143 says to answer. */
  receive(verb: NegotiationVerb, option: number): void {
    if (verb === WILL || verb === WONT) {
      // The asset's side of the option: we answer DO/DONT.
      this.receiveFor(this.side(this.remote, option), verb === WILL, REMOTE_SUPPORTED.has(option), option, DO, DONT);
    } else {
      // Our side of the option: we answer WILL/WONT.
      const s = this.side(this.local, option);
      const was = s.state;
      this.receiveFor(s, verb === DO, LOCAL_SUPPORTED.has(option), option, WILL, WONT);
      if (was !== 'yes' && s.state === 'yes') this.localEnabled(option);
    }
  }

  /** RFC 1143 section 7, for one side of one option. `enable` is WILL/DO, else WONT/DONT. */
  private receiveFor(s: Side, enable: boolean, supported: boolean, option: number, yes: NegotiationVerb, no: NegotiationVerb): void {
    const send = (verb: NegotiationVerb): void => this.opts.send(negotiation(verb, option));
    if (enable) {
      switch (s.state) {
        case 'no':
          if (supported) {
            s.state = 'yes';
            send(yes);
          } else if (!s.refused) {
            s.refused = true;
            send(no);
          }
          break;
        case 'yes':
          break; // already on: an acknowledgment, never answered
        case 'wantno':
          s.state = s.opposite ? 'yes' : 'no'; // "DONT answered by WILL" is an error: treat as NO
          s.opposite = false;
          break;
        case 'wantyes':
          if (s.opposite) {
            s.state = 'wantno';
            s.opposite = false;
            send(no);
          } else {
            s.state = 'yes';
          }
          break;
      }
    } else {
      switch (s.state) {
        case 'no':
          break;
        case 'yes':
          s.state = 'no';
          send(no);
          break;
        case 'wantno':
          if (s.opposite) {
            s.state = 'wantyes';
            s.opposite = false;
            send(yes);
          } else {
            s.state = 'no';
          }
          break;
        case 'wantyes':
          s.state = 'no';
          s.opposite = false;
          break;
      }
    }
  }

  private localEnabled(option: number): void {
    if (option === OPT.NAWS) this.opts.send(nawsPacket(this.size));
  }

  /** Handles IAC SB <option> ... IAC SE from the asset. */
  subnegotiation(option: number, data: Buffer): void {
    if (option === OPT.TTYPE && data[0] === TTYPE_SEND && this.localOn(OPT.TTYPE)) {
      this.opts.send(subnegotiation(OPT.TTYPE, Buffer.concat([Uint8Array.of(TTYPE_IS), Buffer.from(this.opts.term, 'ascii')])));
    }
    // Anything else (including SB for options we refused) is ignored.
  }

  /** New window size: remembered, and sent at once when NAWS is on. */
  resize(size: TerminalSize): TerminalSize {
    this.size = clampSize(size);
    if (this.localOn(OPT.NAWS)) this.opts.send(nawsPacket(this.size));
    return this.size;
  }

  localOn(option: number): boolean {
    return this.local.get(option)?.state === 'yes';
  }

  remoteOn(option: number): boolean {
    return this.remote.get(option)?.state === 'yes';
  }

  /** The options in effect, e.g. ["asset:ECHO", "asset:SGA", "gateway:NAWS", ...]. */
  negotiated(): string[] {
    const out: string[] = [];
    for (const [option, s] of this.remote) if (s.state === 'yes') out.push(`asset:${optionName(option)}`);
    for (const [option, s] of this.local) if (s.state === 'yes') out.push(`gateway:${optionName(option)}`);
    return out;
  }
}

/**
 * Counts negotiation commands (WILL/WONT/DO/DONT and subnegotiations) from the asset: more than
 * `perSecond` within one second, or more than `total` overall (while logging in) breaks the rules.
 */
export class NegotiationBudget {
  private windowStart = 0;
  private inWindow = 0;
  private count = 0;

  constructor(
    private perSecond: number,
    private total: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one command; returns the violation, if this one is over the budget. */
  take(): string | undefined {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    this.inWindow++;
    this.count++;
    if (this.inWindow > this.perSecond) return `the asset flooded option negotiation (more than ${this.perSecond} commands in a second)`;
    if (this.count > this.total) return `the asset flooded option negotiation (more than ${this.total} commands)`;
    return undefined;
  }

  /** After login the total no longer applies (a long session may renegotiate now and then). */
  unlimitedTotal(): void {
    this.total = Number.POSITIVE_INFINITY;
  }

  setPerSecond(perSecond: number): void {
    this.perSecond = perSecond;
  }
}
