import { Alert, Badge, Box, Button, Group, Loader, Paper, Stack, Text, Textarea, ThemeIcon, Title, Tooltip } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { PROTOCOL_LABELS, SESSION_STATE_COLOR, type LiveSessionView, type SessionKind, type SessionSocketMessage, type SessionState, type Watcher } from '../api/types';
import { useIsAdmin, useIsStaff } from '../auth/AuthProvider';
import { formatClock, formatDateTime } from '../common/format';
import { IconAlert, IconArrowLeft, IconEye, IconGate, IconPlayerPlay, IconPlayerStop, IconRefresh } from '../common/icons';
import { TerminateModal } from './TerminateModal';
import { createDisplayMedia } from './displayMedia';
import type { MediaContext, SessionMedia } from './media';
import { createTerminalMedia } from './terminalMedia';
import { TERMINAL_THEME } from './terminalSetup';

export type SessionProtocol = 'ssh' | 'telnet' | 'vnc' | 'rdp';
export type SessionMode =
  | { kind: 'owner'; assetId: string; protocol: SessionProtocol; port: number; accountId?: string }
  | { kind: 'watch'; sessionId: string };

const kindOf = (protocol: SessionProtocol): SessionKind => (protocol === 'vnc' || protocol === 'rdp' ? 'display' : 'terminal');

interface Ending {
  state: SessionState | 'lost';
  reason: string;
  message: string;
}

interface Warning {
  message: string;
  seconds: number;
  deadline: number;
  idle: boolean;
}

function socketUrl(path: string): string {
  return `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/api/v1${path}`;
}

function endTitle(end: Ending, watching: boolean): string {
  if (watching && end.reason === 'user_closed') return 'You stopped watching';
  switch (end.state) {
    case 'terminated':
      return 'Session terminated';
    case 'failed':
      return watching ? 'Cannot watch this session' : 'Could not open the session';
    case 'interrupted':
      return 'Session interrupted';
    case 'lost':
      return 'Connection lost';
    default:
      return 'Session ended';
  }
}

/**
 * A brokered session in the browser, terminal (xterm) or display (Guacamole): the owner's
 * interactive session (`/sessions/new`) or a staff member's read-only view of someone else's
 * (`/sessions/:id/watch`). Fills the window; the top bar shows asset, protocol, state and elapsed
 * time, banners show watchers and warnings, and the end of the session gets a screen of its own
 * with the reason. The media part (media.ts) is the only thing that differs between the two.
 */
export function SessionScreen({ mode }: { mode: SessionMode }) {
  const watching = mode.kind === 'watch';
  const staff = useIsStaff();
  const admin = useIsAdmin();
  const hostRef = useRef<HTMLDivElement>(null);
  const disconnectRef = useRef<(() => void) | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<SessionState | 'connecting'>('connecting');
  const [session, setSession] = useState<LiveSessionView | null>(null);
  const [watchers, setWatchers] = useState<Watcher[]>([]);
  const [warning, setWarning] = useState<Warning | null>(null);
  const [end, setEnd] = useState<Ending | null>(null);
  const [endedAt, setEndedAt] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [terminating, setTerminating] = useState(false);
  /** Pending at a gate: what the session waits for. */
  const [waiting, setWaiting] = useState<{ waitingFor: 'approval' | 'moderator'; message: string; sessionId: string } | null>(null);
  /** A moderated session without a moderator: why it is paused. */
  const [paused, setPaused] = useState<string | null>(null);
  /** This watcher moderates (the session runs only while a moderator watches). */
  const [moderating, setModerating] = useState(false);
  /** Break-glass: the reason the next attempt sends (the form on the end screen sets it). */
  const [breakGlass, setBreakGlass] = useState<string | null>(null);
  const [bgOpen, setBgOpen] = useState(false);
  const [bgDraft, setBgDraft] = useState('');
  const [bgAvailable, setBgAvailable] = useState(false);

  const key = mode.kind === 'owner' ? `${mode.assetId}|${mode.protocol}|${mode.port}|${mode.accountId ?? ''}` : mode.sessionId;

  // biome-ignore lint/correctness/useExhaustiveDependencies: one media and one socket per target and attempt
  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    setState('connecting');
    setSession(null);
    setWatchers([]);
    setWarning(null);
    setEnd(null);
    setEndedAt(null);
    setWaiting(null);
    setPaused(null);
    setBgAvailable(false);
    setBgOpen(false);
    const reason = mode.kind === 'owner' ? breakGlass : null;

    let ws: WebSocket | null = null;
    let opened = false;
    let ended = false;
    let closedByUs = false;
    const ctx: MediaContext = {
      watching,
      send(data) {
        if (ended || !ws || ws.readyState !== WebSocket.OPEN) return;
        ws.send(data);
      },
      typed: () => setWarning((w) => (w?.idle ? null : w)),
    };
    const createMedia = (kind: SessionKind): SessionMedia => (kind === 'display' ? createDisplayMedia(host, ctx) : createTerminalMedia(host, ctx));
    // The owner knows what it opens; a watcher learns it when the session is "opened".
    let media: SessionMedia | null = mode.kind === 'owner' ? createMedia(kindOf(mode.protocol)) : null;

    const finish = (e: Ending) => {
      if (ended) return;
      ended = true;
      setEnd(e);
      setEndedAt(Date.now());
      setWarning(null);
      setWaiting(null);
      setPaused(null);
      // A watcher who leaves does not end the session.
      if (!(watching && e.reason === 'user_closed')) setState(e.state === 'lost' ? 'interrupted' : e.state);
      media?.ended();
    };

    // Deferred a tick: React's development double mount must not open (and at once abandon) a session.
    const connectTimer = setTimeout(() => {
      const path =
        mode.kind === 'owner'
          ? `/sessions/connect?${new URLSearchParams({
              assetId: mode.assetId,
              protocol: mode.protocol,
              port: String(mode.port),
              ...(mode.accountId ? { accountId: mode.accountId } : {}),
              ...(reason ? { breakGlass: 'true' } : {}),
              ...media!.sizeParams(),
            }).toString()}`
          : `/sessions/${encodeURIComponent(mode.sessionId)}/watch`;
      ws = new WebSocket(socketUrl(path));
      ws.binaryType = 'arraybuffer';
      ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
        // Binary frames: terminal bytes. Text frames: our JSON events, or a display's instructions.
        if (typeof ev.data !== 'string' || !ev.data.startsWith('{')) {
          media?.receive(ev.data);
          return;
        }
        let msg: SessionSocketMessage;
        try {
          msg = JSON.parse(ev.data) as SessionSocketMessage;
        } catch {
          return;
        }
        switch (msg.type) {
          case 'state':
            if (!ended) setState(msg.state);
            break;
          case 'waiting':
            setWaiting({ waitingFor: msg.waitingFor, message: msg.message, sessionId: msg.sessionId });
            break;
          case 'break_glass':
            // The reason goes in a message, never in the URL.
            if (reason) ws?.send(JSON.stringify({ type: 'break_glass', reason }));
            break;
          case 'paused':
            setPaused(msg.paused ? msg.message : null);
            break;
          case 'opened':
            opened = true;
            setWaiting(null);
            setModerating(msg.moderator === true);
            media ??= createMedia(msg.session.kind);
            media.opened(msg.session);
            setSession(msg.session);
            setWatchers(msg.session.watchers);
            if (!ended) setState(msg.session.state);
            break;
          case 'watchers':
            setWatchers(msg.watchers);
            break;
          case 'resize':
            media?.resized(msg.cols, msg.rows);
            break;
          case 'warning':
            setWarning({ message: msg.message, seconds: msg.secondsLeft, deadline: Date.now() + msg.secondsLeft * 1000, idle: /unless you type/i.test(msg.message) });
            break;
          case 'ended':
            if ('breakGlassAvailable' in msg && msg.breakGlassAvailable) setBgAvailable(true);
            finish({ state: msg.state, reason: msg.reason, message: msg.message });
            break;
          default:
            break;
        }
      };
      ws.onclose = () => {
        if (closedByUs) return;
        finish(
          opened
            ? { state: 'lost', reason: 'connection_lost', message: 'The connection to the gateway was lost. The session has ended; its recording is kept.' }
            : { state: 'lost', reason: 'refused', message: 'The gateway refused or dropped the connection. Check that you are still signed in and try again.' },
        );
      };
    }, 0);

    disconnectRef.current = () => {
      // Closing the socket ends a session the owner holds; a watcher just leaves.
      closedByUs = true;
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'closed by the user');
      finish({ state: 'ended', reason: 'user_closed', message: watching ? 'You stopped watching. The session goes on.' : 'You closed the session.' });
    };

    return () => {
      clearTimeout(connectTimer);
      closedByUs = true;
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'closed');
      disconnectRef.current = null;
      media?.dispose();
    };
  }, [key, attempt, breakGlass]);

  // The clocks: elapsed time and the warning's countdown.
  useEffect(() => {
    if (end) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [end]);

  const assetLabel = session?.assetName ?? (watching ? 'Session' : end ? 'Not connected' : waiting ? 'Waiting…' : 'Connecting…');
  useEffect(() => {
    const what = session ? `${watching ? `${session.username} on ` : ''}${session.assetName} (${PROTOCOL_LABELS[session.protocol]})` : watching ? 'Watch session' : 'Terminal';
    document.title = `${end ? '◼ ' : ''}${what} · Portcullis`;
    return () => {
      document.title = 'Portcullis';
    };
  }, [session, watching, end]);

  const started = session?.startedAt ? Date.parse(session.startedAt) : null;
  const elapsed = started ? Math.max(0, ((endedAt ?? now) - started) / 1000) : null;
  const secondsLeft = warning ? Math.max(0, Math.min(warning.seconds, Math.ceil((warning.deadline - now) / 1000))) : 0;
  const protocolLabel = mode.kind === 'owner' ? `${PROTOCOL_LABELS[mode.protocol]} :${mode.port}` : session ? PROTOCOL_LABELS[session.protocol] : '';
  const backTo = watching ? '/sessions' : staff ? '/assets' : '/';
  const sessionId = session?.id ?? (mode.kind === 'watch' ? mode.sessionId : null);

  return (
    <Box
      data-testid={watching ? 'watch-page' : 'terminal-page'}
      style={{ position: 'fixed', inset: 0, display: 'flex', flexDirection: 'column', background: TERMINAL_THEME.background }}
    >
      <Group
        justify="space-between"
        wrap="nowrap"
        px="md"
        h={50}
        style={{ flex: 'none', background: '#1b2430', color: '#e6ebf1', borderBottom: '1px solid #2c3847' }}
        data-testid="terminal-bar"
      >
        <Group gap="sm" wrap="nowrap" style={{ minWidth: 0 }}>
          <Tooltip label="Portcullis console" withArrow>
            <Link to={backTo} aria-label="Portcullis console" style={{ display: 'flex' }}>
              <ThemeIcon size={30} radius="md" color="portcullis">
                <IconGate size={18} />
              </ThemeIcon>
            </Link>
          </Tooltip>
          {watching && (
            <Badge color="yellow" variant="filled" leftSection={<IconEye size={12} />} data-testid="read-only-badge">
              {moderating ? 'Moderating · read-only' : 'Read-only'}
            </Badge>
          )}
          {(breakGlass || session?.breakGlass) && (
            <Badge color="red" variant="filled" data-testid="break-glass-badge">
              Break-glass
            </Badge>
          )}
          <Text fw={600} truncate="end" data-testid="terminal-asset">
            {watching && session ? `${session.username} on ${session.assetName}` : assetLabel}
          </Text>
          {protocolLabel && (
            <Badge variant="outline" color="gray.4" tt="none" data-testid="terminal-protocol">
              {protocolLabel}
            </Badge>
          )}
          <Badge
            variant="filled"
            color={state === 'connecting' ? 'blue' : SESSION_STATE_COLOR[state]}
            data-testid="session-state"
            data-state={state}
          >
            {state === 'connecting' ? 'connecting' : state}
          </Badge>
          {elapsed !== null && (
            <Tooltip label={`Started ${formatDateTime(session?.startedAt)}`} withArrow>
              <Text size="sm" ff="monospace" c="gray.4" data-testid="session-elapsed">
                {formatClock(elapsed)}
              </Text>
            </Tooltip>
          )}
        </Group>
        <Group gap="xs" wrap="nowrap">
          {sessionId && (
            <Text size="xs" ff="monospace" c="gray.5" visibleFrom="md" title={sessionId}>
              {sessionId.slice(0, 8)}
            </Text>
          )}
          {watching && admin && !end && session && (
            <Button size="xs" color="red" leftSection={<IconPlayerStop size={14} />} onClick={() => setTerminating(true)} data-testid="watch-terminate">
              Terminate
            </Button>
          )}
          {!end && (
            <Button size="xs" variant="default" onClick={() => disconnectRef.current?.()} data-testid="terminal-disconnect">
              {watching ? 'Stop watching' : 'Disconnect'}
            </Button>
          )}
        </Group>
      </Group>

      {watchers.length > 0 && !end && (
        <Group gap="xs" px="md" py={6} wrap="nowrap" style={{ flex: 'none', background: '#f59f00', color: '#1a1300' }} data-testid="watchers-banner" role="status">
          <IconEye size={16} />
          <Text size="sm" fw={600}>
            Watched by: {watchers.map((w) => w.name).join(', ')}
          </Text>
          <Text size="xs">{watching ? '(read-only)' : '— an administrator or operator sees this session live.'}</Text>
        </Group>
      )}
      {paused && !end && (
        <Alert radius={0} color="orange" variant="filled" icon={<IconAlert />} style={{ flex: 'none' }} data-testid="session-paused" role="status" title="Paused">
          {paused}
        </Alert>
      )}
      {warning && !end && (
        <Alert
          radius={0}
          color="red"
          variant="filled"
          icon={<IconAlert />}
          style={{ flex: 'none' }}
          data-testid="session-warning"
          role="alert"
          title={`${secondsLeft} s left`}
        >
          {warning.message}
        </Alert>
      )}

      <Box style={{ position: 'relative', flex: 1, minHeight: 0, padding: 6 }}>
        <div ref={hostRef} data-testid="terminal" data-mode={mode.kind} style={{ width: '100%', height: '100%', overflow: watching ? 'auto' : undefined }} />
        {waiting && !end && (
          <Box
            data-testid="session-waiting"
            data-waiting-for={waiting.waitingFor}
            style={{ position: 'absolute', inset: 0, display: 'flex', alignItems: 'center', justifyContent: 'center', background: 'rgba(8, 12, 18, 0.72)' }}
          >
            <Paper radius="md" p="xl" shadow="xl" maw={560} w="90%">
              <Stack gap="sm">
                <Group gap="sm" wrap="nowrap">
                  <Loader size="sm" />
                  <Title order={3} fw={600}>
                    {waiting.waitingFor === 'approval' ? 'Waiting for approval' : 'Waiting for a moderator'}
                  </Title>
                </Group>
                <Text data-testid="session-waiting-message">{waiting.message}.</Text>
                <Text size="sm" c="dimmed">
                  You are connected the moment it is {waiting.waitingFor === 'approval' ? 'approved' : 'joined'}. Approvers were notified; leaving this page withdraws the session ({waiting.sessionId.slice(0, 8)}).
                </Text>
                <Group mt="sm">
                  <Button variant="default" onClick={() => disconnectRef.current?.()} data-testid="waiting-cancel">
                    Cancel
                  </Button>
                </Group>
              </Stack>
            </Paper>
          </Box>
        )}
        {end && (
          <Box
            data-testid="session-ended"
            data-state={end.state}
            data-reason={end.reason}
            style={{ position: 'absolute', inset: 0, display: 'flex', alignItems: 'center', justifyContent: 'center', background: 'rgba(8, 12, 18, 0.72)' }}
          >
            <Paper radius="md" p="xl" shadow="xl" maw={560} w="90%">
              <Stack gap="sm">
                <Group gap="sm" wrap="nowrap">
                  <ThemeIcon size={36} radius="xl" variant="light" color={end.state === 'ended' ? 'gray' : end.state === 'terminated' ? 'red' : 'orange'}>
                    {end.state === 'ended' ? <IconPlayerStop size={18} /> : <IconAlert size={20} />}
                  </ThemeIcon>
                  <Title order={3} fw={600}>
                    {endTitle(end, watching)}
                  </Title>
                </Group>
                <Text size="md" data-testid="session-end-message" style={{ wordBreak: 'break-word' }}>
                  {end.state === 'ended' && end.reason !== 'user_closed' ? `Session ended: ${end.message}` : end.message}
                </Text>
                {end.reason === 'host_key_mismatch' && staff && mode.kind === 'owner' && (
                  <Text size="sm" c="dimmed">
                    Check the new key with the asset's owner, then forget the pinned one on the{' '}
                    <Link to={`/assets/${mode.assetId}`}>asset's page</Link>.
                  </Text>
                )}
                {elapsed !== null && (
                  <Text size="sm" c="dimmed">
                    Duration {formatClock(elapsed)}
                    {sessionId ? ` · session ${sessionId.slice(0, 8)}` : ''}
                  </Text>
                )}
                <Group mt="sm" gap="xs">
                  <Button component={Link} to={backTo} leftSection={<IconArrowLeft size={16} />} data-testid="back-to-assets">
                    {watching ? 'Back to active sessions' : staff ? 'Back to the assets' : 'Back to my assets'}
                  </Button>
                  {!watching && (
                    <Button variant="default" leftSection={<IconRefresh size={16} />} onClick={() => {
                        // A new attempt is an ordinary one: break-glass is asked for each time.
                        setBreakGlass(null);
                        setAttempt((n) => n + 1);
                      }}
                      data-testid="reconnect"
                    >
                      Connect again
                    </Button>
                  )}
                  {!watching && bgAvailable && !bgOpen && (
                    <Button color="red" variant="light" onClick={() => setBgOpen(true)} data-testid="break-glass-open">
                      Break glass…
                    </Button>
                  )}
                  {staff && session && end.state !== 'failed' && !(watching && end.reason === 'user_closed') && (
                    <Button variant="subtle" component={Link} to={`/sessions/${session.id}/play`} leftSection={<IconPlayerPlay size={14} />}>
                      Recording
                    </Button>
                  )}
                </Group>
                {bgOpen && (
                  <Stack gap="xs" data-testid="break-glass-form">
                    <Alert color="red" variant="light" icon={<IconAlert />} title="Emergency access">
                      Break-glass bypasses the approvals this access needs. Every administrator is alerted at once, the session is recorded and must be reviewed afterwards.
                    </Alert>
                    <Textarea
                      label="Reason"
                      description="What is the emergency, and why it cannot wait for an approval (at least 10 characters)"
                      autosize
                      minRows={2}
                      maxLength={1000}
                      value={bgDraft}
                      onChange={(e) => setBgDraft(e.currentTarget.value)}
                      data-testid="break-glass-reason"
                    />
                    <Group gap="xs">
                      <Button
                        color="red"
                        disabled={bgDraft.trim().length < 10}
                        onClick={() => {
                          setBreakGlass(bgDraft.trim());
                          setAttempt((n) => n + 1);
                        }}
                        data-testid="break-glass-connect"
                      >
                        Connect with break-glass
                      </Button>
                      <Button variant="default" onClick={() => setBgOpen(false)}>
                        Cancel
                      </Button>
                    </Group>
                  </Stack>
                )}
              </Stack>
            </Paper>
          </Box>
        )}
      </Box>

      {watching && session && (
        <TerminateModal session={terminating ? { id: session.id, username: session.username, assetName: session.assetName } : null} onClose={() => setTerminating(false)} />
      )}
    </Box>
  );
}
