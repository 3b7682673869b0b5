/**
 * A plain WebSocket <-> TCP relay, websockify-style: the pass-through baseline for graphical
 * sessions (what noVNC talks to). Each WebSocket connection gets its own TCP connection to the
 * target; binary messages are written as they come, TCP data goes out as binary messages, with
 * backpressure both ways. Nothing is decoded, re-encoded or recorded.
 * Runs as its own process, so its CPU can be read from /proc like the gateway's:
 *   node --import tsx bench/lib/ws-tcp-proxy.ts <targetHost> <targetPort>
 * It listens on 127.0.0.1 on a free port and prints `listening <port>` once ready.
 */
import net from 'node:net';
import { WebSocketServer } from 'ws';

const [host = '127.0.0.1', portText = ''] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: ws-tcp-proxy.ts <targetHost> <targetPort>');
  process.exit(2);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  const tcp = net.connect({ host, port });
  tcp.setNoDelay(true);
  ws.on('message', (data: Buffer) => {
    if (!tcp.write(data)) {
      ws.pause();
      tcp.once('drain', () => ws.resume());
    }
  });
  tcp.on('data', (chunk) => {
    ws.send(chunk, { binary: true });
    // Like websockify: stop reading from the server while the browser's socket is backed up.
    if (ws.bufferedAmount > 4 * 1024 * 1024) {
      tcp.pause();
      const wait = setInterval(() => {
        if (ws.bufferedAmount < 1024 * 1024 || ws.readyState !== ws.OPEN) {
          clearInterval(wait);
          tcp.resume();
        }
      }, 5);
    }
  });
  const close = () => {
    tcp.destroy();
    ws.close();
  };
  tcp.on('close', close);
  tcp.on('error', close);
  ws.on('close', close);
  ws.on('error', close);
});
wss.on('listening', () => {
  const a = wss.address();
  console.log(`listening ${typeof a === 'object' && a ? a.port : 0}`);
});
process.on('SIGTERM', () => {
  wss.close();
  process.exit(0);
});
