import '@xterm/xterm/css/xterm.css';
import { type ITerminalInitOnlyOptions, type ITerminalOptions, Terminal } from '@xterm/xterm';

/** The look shared by the live terminal, the watch view and the playback. */
export const TERMINAL_THEME: NonNullable<ITerminalOptions['theme']> = {
  background: '#10151c',
  foreground: '#d8dee9',
  cursor: '#d8dee9',
  selectionBackground: '#3b5b7d',
  black: '#1b222c',
  brightBlack: '#4c566a',
};

export function createTerminal(options: ITerminalOptions & ITerminalInitOnlyOptions = {}): Terminal {
  return new Terminal({
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    lineHeight: 1.15,
    scrollback: 5000,
    cursorBlink: true,
    macOptionIsMeta: true,
    rightClickSelectsWord: true,
    theme: TERMINAL_THEME,
    ...options,
  });
}

/**
 * Copy and paste like desktop terminals: Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes
 * (the browser's own paste, so no clipboard permission prompt), Cmd+C / Cmd+V on macOS. Plain Ctrl+C
 * and Ctrl+V still go to the asset (interrupt, literal next). The browser's context menu works too.
 */
export function attachClipboardKeys(term: Terminal): void {
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown') return true;
    const key = e.key.toLowerCase();
    const ctrlShift = e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey;
    const cmd = e.metaKey && !e.ctrlKey && !e.altKey;
    if ((ctrlShift || cmd) && key === 'c') {
      const selection = term.getSelection();
      if (ctrlShift) {
        // Chromium would open the element inspector.
        e.preventDefault();
        if (selection) void navigator.clipboard?.writeText(selection).catch(() => {});
      }
      // Cmd+C: the browser's copy event, which xterm answers with its selection.
      return false;
    }
    // Let the browser paste (Ctrl+Shift+V is "paste as plain text"): xterm takes the paste event.
    if ((ctrlShift || cmd) && key === 'v') return false;
    return true;
  });
}

/** The visible rows as text (what the screen shows), for tests and diagnostics. */
export function screenText(term: Terminal): string {
  const buf = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < term.rows; y++) lines.push(buf.getLine(buf.viewportY + y)?.translateToString(true) ?? '');
  return lines.join('\n');
}
