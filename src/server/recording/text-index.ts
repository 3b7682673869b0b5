import { type AsciicastEvent, parseRecordingStream } from './reader.js';

/**
 * Searchable text from a terminal recording, for "find sessions where someone ran `rm`":
 * - commands: what was typed, replayed through a small line editor (printable characters,
 *   backspace \x7f/\b, Ctrl-U/W/K, Ctrl-A/E/B/F, Ctrl-C, left/right/home/end/delete; other escape
 *   sequences such as up/down arrows and bracketed-paste markers are ignored; \r or \n ends a
 *   line). Tab completion and history recall happen in the remote shell and cannot be seen here;
 *   the output text shows their result.
 * - outputText: what was shown, with ANSI/VT escape sequences (CSI, OSC, DCS, ...) stripped,
 *   control characters removed, cursor moves turned into separators, whitespace collapsed.
 * Lines typed right after a password prompt ("Password:", "[sudo] password for x:",
 * "Enter passphrase ...:") are left out (counted in redactedLines): typed secrets are not indexed.
 */
export interface TextIndexOptions {
  maxCommands?: number;
  maxCommandChars?: number;
  maxOutputChars?: number;
  redactAfterPasswordPrompt?: boolean;
}

export interface TextIndex {
  commands: string[];
  outputText: string;
  truncated: { commands: boolean; output: boolean };
  redactedLines: number;
}

const PASSWORD_PROMPT = /(pass(word|phrase|code)|\bpin\b|one-time code|verification code)[^\n]{0,60}[:?]\s*$/i;
const TAIL = 256;
/** Output kept past the limit for the prompt check; enough to skip an escape sequence cut at its start. */
const UNREAD = TAIL * 4;

type OutState = 'ground' | 'esc' | 'escInter' | 'csi' | 'osc' | 'oscEsc' | 'str' | 'strEsc';
type InState = 'ground' | 'esc' | 'csi' | 'ss3';

export class TextIndexer {
  private readonly maxCommands: number;
  private readonly maxCommandChars: number;
  private readonly maxOutputChars: number;
  private readonly redact: boolean;
  private readonly commands: string[] = [];
  private commandsTruncated = false;
  private redactedLines = 0;
  // input line editor
  private line: string[] = [];
  private cursor = 0;
  private lineSecret = false;
  private inState: InState = 'ground';
  private inParams = '';
  private lastWasCR = false;
  // output
  private out: string[] = [];
  private outLen = 0;
  private outputTruncated = false;
  private outState: OutState = 'ground';
  private outParams = '';
  private tail = '';
  /** Output past the limit not walked yet (at most UNREAD characters). */
  private unread = '';

  constructor(opts: TextIndexOptions = {}) {
    this.maxCommands = opts.maxCommands ?? 10_000;
    this.maxCommandChars = opts.maxCommandChars ?? 4096;
    this.maxOutputChars = opts.maxOutputChars ?? 1_000_000;
    this.redact = opts.redactAfterPasswordPrompt ?? true;
  }

  event(e: AsciicastEvent): void {
    if (e[1] === 'i') {
      this.catchUp();
      this.input(e[2]);
    } else if (e[1] === 'o') {
      // Past the output limit only the output just before the next keystroke matters (it tells a
      // password prompt from a command line): its last characters are kept, and walked only when
      // input comes, so a huge output is not walked character by character at all.
      if (!this.outputTruncated) this.output(e[2]);
      else this.unread = e[2].length >= UNREAD ? e[2].slice(-UNREAD) : (this.unread + e[2]).slice(-UNREAD);
    }
  }

  /** Walks the output kept past the limit (see event()). */
  private catchUp(): void {
    if (!this.unread) return;
    const s = this.unread;
    this.unread = '';
    this.output(s);
  }

  // ---- input: a minimal readline ----

  input(s: string): void {
    for (const ch of s) this.inChar(ch);
  }

  private inChar(ch: string): void {
    const c = ch.codePointAt(0) as number;
    switch (this.inState) {
      case 'esc':
        if (ch === '[') {
          this.inState = 'csi';
          this.inParams = '';
        } else if (ch === 'O') this.inState = 'ss3';
        else this.inState = 'ground'; // Alt+key and the like
        return;
      case 'csi':
        if (c >= 0x40 && c <= 0x7e) {
          this.inState = 'ground';
          this.inKey(ch, this.inParams);
        } else if (c < 0x20 || c > 0x7e || this.inParams.length > 32) this.inState = 'ground';
        else this.inParams += ch;
        return;
      case 'ss3':
        this.inState = 'ground';
        this.inKey(ch, '');
        return;
      default:
    }
    const wasCR = this.lastWasCR;
    this.lastWasCR = false;
    switch (c) {
      case 0x1b: this.inState = 'esc'; return;
      case 0x0d: this.enter(); this.lastWasCR = true; return;
      case 0x0a: if (!wasCR) this.enter(); return;
      case 0x7f: case 0x08: // backspace
        if (this.cursor > 0) this.line.splice(--this.cursor, 1);
        return;
      case 0x15: // Ctrl-U: kill to start of line
        this.line.splice(0, this.cursor);
        this.cursor = 0;
        return;
      case 0x17: { // Ctrl-W: kill previous word
        let i = this.cursor;
        while (i > 0 && /\s/.test(this.line[i - 1] as string)) i--;
        while (i > 0 && !/\s/.test(this.line[i - 1] as string)) i--;
        this.line.splice(i, this.cursor - i);
        this.cursor = i;
        return;
      }
      case 0x0b: this.line.length = this.cursor; return; // Ctrl-K
      case 0x01: this.cursor = 0; return; // Ctrl-A
      case 0x05: this.cursor = this.line.length; return; // Ctrl-E
      case 0x02: this.cursor = Math.max(0, this.cursor - 1); return; // Ctrl-B
      case 0x06: this.cursor = Math.min(this.line.length, this.cursor + 1); return; // Ctrl-F
      case 0x03: this.resetLine(); return; // Ctrl-C abandons the line
      default:
    }
    if (c < 0x20 || (c >= 0x80 && c <= 0x9f)) return; // other controls (Tab, Ctrl-D, C1)
    if (this.line.length === 0 && this.redact) this.lineSecret = PASSWORD_PROMPT.test(this.tail);
    if (this.line.length >= this.maxCommandChars) return;
    this.line.splice(this.cursor++, 0, ch);
  }

  private inKey(final: string, params: string): void {
    const n = Math.max(1, Number.parseInt(params, 10) || 1);
    switch (final) {
      case 'D': this.cursor = Math.max(0, this.cursor - n); break;
      case 'C': this.cursor = Math.min(this.line.length, this.cursor + n); break;
      case 'H': this.cursor = 0; break;
      case 'F': this.cursor = this.line.length; break;
      case '~':
        if (params === '1' || params === '7') this.cursor = 0;
        else if (params === '4' || params === '8') this.cursor = this.line.length;
        else if (params === '3' && this.cursor < this.line.length) this.line.splice(this.cursor, 1);
        break; // 200~/201~ (bracketed paste markers) and others: ignored
      default: // up/down (history), function keys: ignored
    }
  }

  private enter(): void {
    const cmd = this.line.join('').trim();
    if (cmd) {
      if (this.lineSecret) this.redactedLines++;
      else if (this.commands.length < this.maxCommands) this.commands.push(cmd);
      else this.commandsTruncated = true;
    }
    this.resetLine();
  }

  private resetLine(): void {
    this.line = [];
    this.cursor = 0;
    this.lineSecret = false;
  }

  // ---- output: strip escape sequences ----

  output(s: string): void {
    for (const ch of s) this.outChar(ch);
  }

  private outChar(ch: string): void {
    const c = ch.codePointAt(0) as number;
    switch (this.outState) {
      case 'esc':
        if (ch === '[') {
          this.outState = 'csi';
          this.outParams = '';
        } else if (ch === ']') this.outState = 'osc';
        else if (ch === 'P' || ch === 'X' || ch === '^' || ch === '_') this.outState = 'str';
        else if (c >= 0x20 && c <= 0x2f) this.outState = 'escInter'; // e.g. ESC ( B
        else this.outState = 'ground'; // ESC 7, ESC =, ESC M ...
        return;
      case 'escInter':
        if (c === 0x1b) this.outState = 'esc';
        else if (c >= 0x30 && c <= 0x7e) this.outState = 'ground';
        return;
      case 'csi':
        if (c === 0x1b) this.outState = 'esc';
        else if (c >= 0x40 && c <= 0x7e) {
          this.outState = 'ground';
          if ('HfdEFAB'.includes(ch)) this.emit('\n');
          else if ('CG`I'.includes(ch)) this.emit(' ');
        } else if (c > 0x7e || this.outParams.length > 64) this.outState = 'ground';
        else if (c >= 0x20) this.outParams += ch;
        return;
      case 'osc':
        if (c === 0x07 || c === 0x9c) this.outState = 'ground';
        else if (c === 0x1b) this.outState = 'oscEsc';
        return;
      case 'str':
        if (c === 0x9c) this.outState = 'ground';
        else if (c === 0x1b) this.outState = 'strEsc';
        return;
      case 'oscEsc':
      case 'strEsc':
        this.outState = 'esc';
        if (ch !== '\\') this.outChar(ch); // ESC not followed by '\' starts a new sequence
        else this.outState = 'ground';
        return;
      default:
    }
    if (c === 0x1b) this.outState = 'esc';
    else if (c === 0x9b) {
      this.outState = 'csi';
      this.outParams = '';
    } else if (c === 0x9d) this.outState = 'osc';
    else if (c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f) this.outState = 'str';
    else if (c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b) this.emit('\n');
    else if (c === 0x09) this.emit(' ');
    else if (c === 0x08) this.backspace();
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return;
    else this.emit(ch);
  }

  private emit(ch: string): void {
    const ws = ch === ' ' || ch === '\n';
    const last = this.tail.at(-1);
    if (ws && (last === undefined || last === '\n' || (last === ' ' && ch === ' '))) return;
    if (ch === '\n' && last === ' ') this.dropLast(); // no trailing spaces on a line
    this.tail = (this.tail + ch).slice(-TAIL);
    if (this.outLen >= this.maxOutputChars) {
      this.outputTruncated = true;
      return;
    }
    this.out.push(ch);
    this.outLen += ch.length;
  }

  private backspace(): void {
    const last = this.tail.at(-1);
    if (last !== undefined && last !== '\n') this.dropLast();
  }

  private dropLast(): void {
    const last = this.tail.at(-1);
    if (last === undefined) return;
    this.tail = this.tail.slice(0, -last.length);
    if (!this.outputTruncated && this.out.length) {
      const removed = this.out.pop() as string;
      this.outLen -= removed.length;
    }
  }

  result(): TextIndex {
    const pending = this.line.join('').trim();
    const commands = [...this.commands];
    if (pending && !this.lineSecret && commands.length < this.maxCommands) commands.push(pending);
    return {
      commands,
      outputText: this.out.join('').trim(),
      truncated: { commands: this.commandsTruncated, output: this.outputTruncated },
      redactedLines: this.redactedLines,
    };
  }
}

/** Text index of a list of events. */
export function extractText(events: Iterable<AsciicastEvent>, opts?: TextIndexOptions): TextIndex {
  const ix = new TextIndexer(opts);
  for (const e of events) ix.event(e);
  return ix.result();
}

/** Text index of a recording file (streamed; a torn last line is skipped). */
export async function indexRecording(path: string, opts?: TextIndexOptions): Promise<TextIndex> {
  const ix = new TextIndexer(opts);
  await parseRecordingStream(path, (e) => ix.event(e));
  return ix.result();
}
