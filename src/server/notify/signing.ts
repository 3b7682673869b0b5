import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures (outbound and inbound use the same scheme):
 *   X-Portcullis-Timestamp: <unix seconds>
 *   X-Portcullis-Signature: sha256=<hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`)>
 *   X-Portcullis-Delivery:  <delivery id, the same on every retry of one delivery>
 *   X-Portcullis-Event:     <event name>
 * The timestamp is part of what is signed, so an old request cannot be replayed with a new one.
 */
export const HEADER_TIMESTAMP = 'x-portcullis-timestamp';
export const HEADER_SIGNATURE = 'x-portcullis-signature';
export const HEADER_DELIVERY = 'x-portcullis-delivery';
export const HEADER_EVENT = 'x-portcullis-event';

export function signPayload(secret: string, timestamp: number, rawBody: string | Buffer): string {
  const h = createHmac('sha256', secret);
  h.update(`${timestamp}.`);
  h.update(rawBody);
  return `sha256=${h.digest('hex')}`;
}

/** Constant-time comparison of two "sha256=<hex>" signatures. */
export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  if (a.length !== b.length) {
    // Compare anyway so the time taken does not tell how long the expected value is.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Headers for one signed request (the body is sent exactly as signed). */
export function signedHeaders(secret: string, timestampSec: number, rawBody: string, deliveryId: string, event: string): Record<string, string> {
  return {
    'X-Portcullis-Timestamp': String(timestampSec),
    'X-Portcullis-Signature': signPayload(secret, timestampSec, rawBody),
    'X-Portcullis-Delivery': deliveryId,
    'X-Portcullis-Event': event,
  };
}
