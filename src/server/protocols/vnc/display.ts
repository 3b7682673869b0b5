import { connectRfbTcp } from './client.js';
import type { DisplayConnection, DisplayProtocol } from '../types.js';


/**
 * VNC assets: the gateway's RFB client connects straight to the asset with the vaulted VNC
 * password (VNC has no user name). Frames are asked for by the display stream (autoRequest off).
 */
export const vncProtocol: DisplayProtocol = {
  name: 'vnc',
  async connect(target, credential, opts): Promise<DisplayConnection> {
    const rfb = await connectRfbTcp(
      { host: target.host, port: target.port },
      {
        ...(credential.password !== undefined ? { password: credential.password } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        timeoutMs: opts.timeoutMs ?? 15_000,
        autoRequest: false,
        // Lossless from the asset, whatever the stream quality: decoding the server's Tight JPEG
        // is pure JS on the main thread (4 fps at medium); the gateway encodes JPEG itself, off
        // the event loop, for the regions that are photographic.
      },
    );
    return {
      rfb,
      close: (reason) => rfb.close(reason),
      ended: rfb.ended.then((e) => ({ how: e.how, message: e.message })),
      info: {},
    };
  },
};
