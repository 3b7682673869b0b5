/**
 * Security keys (WebAuthn / FIDO2) through @simplewebauthn/browser: it turns the gateway's JSON
 * options into navigator.credentials calls and the answers back into JSON (base64url buffers).
 */
import {
  browserSupportsWebAuthn,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  startAuthentication,
  startRegistration,
  WebAuthnError,
} from '@simplewebauthn/browser';
import { api, request } from '../api/client';

export const webauthnSupported = (): boolean => typeof window !== 'undefined' && browserSupportsWebAuthn();

/** The gateway answers the options themselves; tolerate an `{ options }` envelope as well. */
function unwrap<T>(res: unknown): T {
  if (res && typeof res === 'object' && 'options' in res && !('challenge' in res)) return (res as { options: T }).options;
  return res as T;
}

/** A readable message for a failed browser ceremony (cancelled, timed out, wrong key...). */
export function webauthnErrorMessage(err: unknown): string | null {
  const name = err instanceof Error ? (err instanceof WebAuthnError ? (err.cause as Error | undefined)?.name ?? err.name : err.name) : '';
  if (err instanceof WebAuthnError) {
    if (err.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED') return 'This security key is already registered to your account.';
    if (err.code === 'ERROR_INVALID_DOMAIN' || err.code === 'ERROR_INVALID_RP_ID') return 'Security keys need the console to be opened under its configured host name over HTTPS.';
  }
  if (name === 'NotAllowedError' || name === 'AbortError') return 'The security key request was cancelled or timed out. Try again.';
  if (name === 'InvalidStateError') return 'This security key is already registered to your account.';
  if (name === 'SecurityError') return 'The browser refused to use a security key for this address (it needs HTTPS and the configured host name).';
  if (name === 'NotSupportedError') return 'This browser or security key does not support the requested algorithm.';
  return null;
}

/** Sign-in step 2 with a security key: options, the browser ceremony, then the assertion for the gateway. */
export async function assertWithSecurityKey<T>(): Promise<T> {
  // 401 here is a refused key, not the end of the console session: the caller handles it.
  const optionsJSON = unwrap<PublicKeyCredentialRequestOptionsJSON>(await request('POST', '/auth/mfa/webauthn/options', { allowUnauthorized: true }));
  const response = await startAuthentication({ optionsJSON });
  return request<T>('POST', '/auth/mfa/webauthn/verify', { json: { response }, allowUnauthorized: true });
}

/** Registers a new security key under `name`. */
export async function registerSecurityKey<T>(name: string): Promise<T> {
  const optionsJSON = unwrap<PublicKeyCredentialCreationOptionsJSON>(await api.post('/me/mfa/webauthn/register/options'));
  const response = await startRegistration({ optionsJSON });
  return api.post<T>('/me/mfa/webauthn/register/verify', { name, response });
}
