/**
 * Email templates: pure functions from typed data to { subject, text, html }. Every value is
 * escaped in the HTML part; links point into the console when its public URL is configured.
 */

export interface Person {
  username: string;
  displayName?: string | undefined;
}

interface Common {
  /** Console path to link to, overriding the template's default (e.g. "/requests/<id>"). */
  link?: string | undefined;
  /** IANA time zone to show times in (the site's); default UTC. */
  timeZone?: string | undefined;
}

export interface RequestCreatedData extends Common {
  requestId: string;
  requester: Person;
  /** Asset names. */
  assets: string[];
  accessMethods?: string[] | undefined;
  purpose: string;
  ticket?: string | null | undefined;
  /** ISO timestamps of the window. */
  start: string;
  end: string;
  /** Approvals the request needs in total (2 = dual authorization). */
  approvalsNeeded?: number | undefined;
}

export interface RequestDecidedData extends Common {
  requestId: string;
  decision: 'approved' | 'denied';
  decidedBy: Person;
  comment?: string | null | undefined;
  assets: string[];
  start: string;
  end: string;
}

export interface WindowStartingData extends Common {
  requestId: string;
  assets: string[];
  start: string;
  end: string;
}

export interface WindowEndingData extends Common {
  requestId: string;
  assets: string[];
  end: string;
  /** Minutes left when the message is written (default 5). */
  minutesLeft?: number | undefined;
}

export interface SessionPendingData extends Common {
  sessionId: string;
  user: Person;
  asset: string;
  protocol: string;
  requestedAt: string;
  sourceIp?: string | null | undefined;
  /** What the session waits for (default approval): a live approval, or a moderator to watch it. */
  waitingFor?: 'approval' | 'moderator' | undefined;
  /** Live approvals it needs (2 = dual authorization). */
  approvalsNeeded?: number | undefined;
}

export interface BreakGlassData extends Common {
  sessionId?: string | null | undefined;
  user: Person;
  asset: string;
  protocol?: string | undefined;
  reason: string;
  at: string;
  sourceIp?: string | null | undefined;
}

/** Template name -> the data it needs. */
export interface EmailTemplates {
  request_created: RequestCreatedData;
  request_decided: RequestDecidedData;
  window_starting: WindowStartingData;
  window_ending: WindowEndingData;
  session_pending: SessionPendingData;
  break_glass: BreakGlassData;
}
export type EmailTemplate = keyof EmailTemplates;
export const EMAIL_TEMPLATES = ['request_created', 'request_decided', 'window_starting', 'window_ending', 'session_pending', 'break_glass'] as const satisfies readonly EmailTemplate[];

export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

export interface RenderOptions {
  /** config.publicUrl; without it the messages carry no links. */
  consoleUrl?: string | undefined;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One line for a subject: no control characters, bounded. */
const oneLine = (s: string, max = 120) => {
  const t = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

const who = (p: Person) => (p.displayName && p.displayName !== p.username ? `${p.displayName} (${p.username})` : p.username);

export function formatTime(iso: string, timeZone = 'UTC'): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  let tz = timeZone;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
  } catch {
    tz = 'UTC';
  }
  const s = new Intl.DateTimeFormat('en-GB', { timeZone: tz, year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
  return `${s} (${tz})`;
}

const list = (xs: string[], max = 10) => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`);

function linkTo(opts: RenderOptions, path: string): string | null {
  if (!opts.consoleUrl) return null;
  const base = opts.consoleUrl.replace(/\/+$/, '');
  const p = path.startsWith('/') ? path : `/${path}`;
  return `${base}${p}`;
}

interface Body {
  subject: string;
  /** Heading of the message. */
  title: string;
  /** Intro paragraph. */
  intro: string;
  /** Label/value rows. */
  rows: [string, string][];
  /** Highlighted free text (reason, comment, purpose), shown as a quote. */
  quote?: { label: string; text: string } | undefined;
  action?: { label: string; path: string } | undefined;
  /** Closing line. */
  footer?: string | undefined;
  tone?: 'normal' | 'alert';
}

function compose(b: Body, opts: RenderOptions): Rendered {
  const url = b.action ? linkTo(opts, b.action.path) : null;
  const text = [
    b.title,
    '',
    b.intro,
    '',
    ...b.rows.map(([k, v]) => `${k}: ${v}`),
    ...(b.quote ? ['', `${b.quote.label}:`, ...b.quote.text.split(/\r?\n/).map((l) => `> ${l}`)] : []),
    ...(url && b.action ? ['', `${b.action.label}: ${url}`] : []),
    ...(b.footer ? ['', b.footer] : []),
    '',
    '-- ',
    'Portcullis, OT remote access gateway. This message was sent automatically.',
  ].join('\n');
  const color = b.tone === 'alert' ? '#c92a2a' : '#1c7ed6';
  const rows = b.rows.map(([k, v]) => `<tr><td style="padding:4px 12px 4px 0;color:#555;vertical-align:top;white-space:nowrap">${escapeHtml(k)}</td><td style="padding:4px 0">${escapeHtml(v)}</td></tr>`).join('');
  const quote = b.quote
    ? `<p style="margin:16px 0 4px;color:#555">${escapeHtml(b.quote.label)}</p><blockquote style="margin:0;padding:8px 12px;border-left:3px solid ${color};background:#f8f9fa;white-space:pre-wrap">${escapeHtml(b.quote.text)}</blockquote>`
    : '';
  const action = url && b.action ? `<p style="margin:20px 0"><a href="${escapeHtml(url)}" style="background:${color};color:#fff;padding:8px 16px;border-radius:4px;text-decoration:none">${escapeHtml(b.action.label)}</a></p>` : '';
  const footer = b.footer ? `<p style="color:#555">${escapeHtml(b.footer)}</p>` : '';
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(b.subject)}</title></head><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#212529"><h2 style="color:${color};margin:0 0 12px">${escapeHtml(b.title)}</h2><p>${escapeHtml(b.intro)}</p><table style="border-collapse:collapse">${rows}</table>${quote}${action}${footer}<hr style="border:none;border-top:1px solid #dee2e6;margin-top:24px"><p style="color:#868e96;font-size:12px">Portcullis, OT remote access gateway. This message was sent automatically.</p></body></html>`;
  return { subject: oneLine(`[Portcullis] ${b.subject}`, 200), text, html };
}

const RENDER: { [K in EmailTemplate]: (d: EmailTemplates[K], o: RenderOptions) => Rendered } = {
  request_created: (d, o) =>
    compose(
      {
        subject: `Access request from ${oneLine(who(d.requester), 60)} for ${oneLine(list(d.assets, 3), 60)}`,
        title: 'New access request to approve',
        intro: `${who(d.requester)} asks for access. You are one of its approvers.`,
        rows: [
          ['Requested by', who(d.requester)],
          ['Assets', list(d.assets)],
          ...(d.accessMethods?.length ? [['Access', d.accessMethods.join(', ')] as [string, string]] : []),
          ['From', formatTime(d.start, d.timeZone)],
          ['Until', formatTime(d.end, d.timeZone)],
          ...(d.ticket ? [['Ticket', d.ticket] as [string, string]] : []),
          ...(d.approvalsNeeded && d.approvalsNeeded > 1 ? [['Approvals needed', `${d.approvalsNeeded} (dual authorization)`] as [string, string]] : []),
        ],
        quote: { label: 'Purpose', text: d.purpose },
        action: { label: 'Review the request', path: d.link ?? `/requests/${encodeURIComponent(d.requestId)}` },
        footer: 'The request expires if it is not decided before its start.',
      },
      o,
    ),
  request_decided: (d, o) => {
    const ok = d.decision === 'approved';
    return compose(
      {
        subject: `Your access request was ${ok ? 'approved' : 'denied'}: ${oneLine(list(d.assets, 3), 80)}`,
        title: ok ? 'Access request approved' : 'Access request denied',
        intro: ok ? `${who(d.decidedBy)} approved your request. Access exists only inside the window below.` : `${who(d.decidedBy)} denied your request.`,
        rows: [
          ['Assets', list(d.assets)],
          ['From', formatTime(d.start, d.timeZone)],
          ['Until', formatTime(d.end, d.timeZone)],
          ['Decided by', who(d.decidedBy)],
        ],
        quote: d.comment ? { label: 'Comment', text: d.comment } : undefined,
        action: { label: 'Open the request', path: d.link ?? `/requests/${encodeURIComponent(d.requestId)}` },
        tone: ok ? 'normal' : 'alert',
      },
      o,
    );
  },
  window_starting: (d, o) =>
    compose(
      {
        subject: `Your access window starts now: ${oneLine(list(d.assets, 3), 80)}`,
        title: 'Access window starting',
        intro: 'Your approved access window is open. You can connect to the assets below until it ends.',
        rows: [
          ['Assets', list(d.assets)],
          ['From', formatTime(d.start, d.timeZone)],
          ['Until', formatTime(d.end, d.timeZone)],
        ],
        action: { label: 'Open my access', path: d.link ?? '/' },
      },
      o,
    ),
  window_ending: (d, o) => {
    const m = d.minutesLeft ?? 5;
    return compose(
      {
        subject: `Your access window ends in ${m} minute${m === 1 ? '' : 's'}: ${oneLine(list(d.assets, 3), 80)}`,
        title: 'Access window ending',
        intro: `Your access window ends in ${m} minute${m === 1 ? '' : 's'}. Open sessions are terminated when it ends: save your work now.`,
        rows: [
          ['Assets', list(d.assets)],
          ['Ends', formatTime(d.end, d.timeZone)],
        ],
        action: { label: 'Request an extension', path: d.link ?? `/requests/${encodeURIComponent(d.requestId)}` },
        tone: 'alert',
      },
      o,
    );
  },
  session_pending: (d, o) =>
    compose(
      {
        subject: d.waitingFor === 'moderator' ? `Session waiting for a moderator: ${oneLine(who(d.user), 60)} to ${oneLine(d.asset, 60)}` : `Session waiting for approval: ${oneLine(who(d.user), 60)} to ${oneLine(d.asset, 60)}`,
        title: d.waitingFor === 'moderator' ? 'Session waiting for a moderator' : 'Session waiting for your approval',
        intro:
          d.waitingFor === 'moderator'
            ? `${who(d.user)} is waiting to connect. A moderator must watch this session: it starts when one joins from the dashboard and pauses whenever no moderator watches.`
            : `${who(d.user)} is waiting to connect. The session starts only when ${d.approvalsNeeded && d.approvalsNeeded > 1 ? `${d.approvalsNeeded} approvers approve it` : 'an approver approves it'}.`,
        rows: [
          ['User', who(d.user)],
          ['Asset', d.asset],
          ['Protocol', d.protocol],
          ['Requested', formatTime(d.requestedAt, d.timeZone)],
          ...(d.sourceIp ? [['From address', d.sourceIp] as [string, string]] : []),
        ],
        action: { label: d.waitingFor === 'moderator' ? 'Join as moderator on the dashboard' : 'Approve or reject on the dashboard', path: d.link ?? '/' },
      },
      o,
    ),
  break_glass: (d, o) =>
    compose(
      {
        subject: `BREAK-GLASS access used by ${oneLine(who(d.user), 60)} on ${oneLine(d.asset, 60)}`,
        title: 'Break-glass access used',
        intro: `${who(d.user)} used emergency access, bypassing approval. The session is recorded and flagged for mandatory review.`,
        rows: [
          ['User', who(d.user)],
          ['Asset', d.asset],
          ...(d.protocol ? [['Protocol', d.protocol] as [string, string]] : []),
          ['At', formatTime(d.at, d.timeZone)],
          ...(d.sourceIp ? [['From address', d.sourceIp] as [string, string]] : []),
        ],
        quote: { label: 'Reason given', text: d.reason },
        action: { label: d.sessionId ? 'Watch or review the session' : 'Open the console', path: d.link ?? (d.sessionId ? `/sessions/${encodeURIComponent(d.sessionId)}/watch` : '/') },
        footer: 'Every administrator receives this message.',
        tone: 'alert',
      },
      o,
    ),
};

/** Renders one template. Pure: same data and options, same message. */
export function renderEmail<K extends EmailTemplate>(template: K, data: EmailTemplates[K], opts: RenderOptions = {}): Rendered {
  const fn = RENDER[template] as (d: EmailTemplates[K], o: RenderOptions) => Rendered;
  if (!fn) throw new Error(`unknown email template "${String(template)}"`);
  return fn(data, opts);
}

/** The "send test email" message. */
export function renderTestEmail(opts: RenderOptions & { sentBy: string; at: string }): Rendered {
  return compose(
    {
      subject: 'Test email',
      title: 'Test email from Portcullis',
      intro: 'The gateway can send email with the SMTP settings in System Management. Notifications (access requests, approvals, break-glass) will arrive like this one.',
      rows: [
        ['Sent by', opts.sentBy],
        ['At', formatTime(opts.at)],
      ],
      action: { label: 'Open the console', path: '/system/email' },
    },
    opts,
  );
}
