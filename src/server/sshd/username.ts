/**
 * The SSH login name carries the target: `alice+PLC-01` (asset by name, case-insensitive),
 * `alice+PLC-01+telnet` or `alice+PLC-01+ssh:2222` (access method, when the asset has several),
 * or plain `alice` (a menu of her reachable assets). Portcullis usernames never hold '+'
 * (identity/users.ts), so the first '+' always ends the user part.
 */
export interface LoginName {
  user: string;
  asset?: string;
  method?: { protocol: 'ssh' | 'telnet'; port?: number };
}

const METHOD = /^(ssh|telnet)(?::(\d{1,5}))?$/i;

export function parseLoginName(raw: string): LoginName {
  const plus = raw.indexOf('+');
  if (plus < 0) return { user: raw };
  const user = raw.slice(0, plus);
  const rest = raw.slice(plus + 1);
  if (!rest) return { user };
  const last = rest.lastIndexOf('+');
  // A method suffix only counts after an asset name ("alice+telnet" is the asset "telnet").
  if (last > 0) {
    const m = METHOD.exec(rest.slice(last + 1));
    if (m) {
      const port = m[2] ? Number(m[2]) : undefined;
      const protocol = m[1]!.toLowerCase() as 'ssh' | 'telnet';
      return { user, asset: rest.slice(0, last), method: port !== undefined ? { protocol, port } : { protocol } };
    }
  }
  return { user, asset: rest };
}

/** "ssh:22" */
export const methodLabel = (m: { protocol: string; port: number }) => `${m.protocol}:${m.port}`;
