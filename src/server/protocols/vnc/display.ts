import { connectRfbTcp } from './client.js';
import type { DisplayConnection, DisplayProtocol } from '../types.js';

/** Tight JPEG quality (0-9) asked of the server per stream quality; high stays lossless. */
const JPEG_LEVEL = { low: 4, medium: 7 } as const;

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
        ...(opts.quality === 'high' ? {} : { jpegQuality: JPEG_LEVEL[opts.quality] }),
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
