/**
 * Fake Telnet assets for tests of hostile or broken peers (the OT side is untrusted input): a
 * TCP server on 127.0.0.1 and a minimal login dialogue the gateway's scripted login gets through.
 */
import net from 'node:net';

export interface FakeServer {
  port: number;
  sockets: net.Socket[];
  close(): Promise<void>;
}

export async function fakeServer(onConnection: (sock: net.Socket) => void): Promise<FakeServer> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    onConnection(sock);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A minimal login dialogue (no negotiation), then `then(sock)`. Collects what the client typed. */
export function fakeLogin(opts: { echoPassword?: boolean; received?: Buffer[]; then: (sock: net.Socket) => void }) {
  return (sock: net.Socket): void => {
    let phase = 0;
    let line = '';
    sock.write('Fake RTU\r\nlogin: ');
    sock.on('data', (d: Buffer) => {
      opts.received?.push(d);
      if (phase >= 2) return;
      line += d.toString('latin1');
      if (!line.includes('\r\n')) return;
      const typed = line.slice(0, line.indexOf('\r\n'));
      line = '';
      if (phase === 0) {
        phase = 1;
        sock.write(`${typed}\r\nPassword: `);
      } else {
        phase = 2;
        if (opts.echoPassword) sock.write(typed);
        sock.write('\r\nWelcome\r\n$ ');
        opts.then(sock);
      }
    });
  };
}

