import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, onUnauthorized, request, setCsrfToken } from '../api/client';
import type { Me, MfaMethod, SessionView } from '../api/types';
import { assertWithSecurityKey } from './webauthn';

/**
 * Sign-in is staged: password, then (when the account has or needs one) the second factor or its
 * enrollment ('pending'), then, when the password is a one-time or expired one, the forced change
 * (`mustChangePassword`). Only 'authenticated' without mustChangePassword reaches the app.
 */
export type AuthState =
  | { status: 'loading' }
  | { status: 'anonymous'; reason?: 'expired' | 'signed-out'; error?: unknown; notice?: unknown }
  | { status: 'pending'; stage: 'mfa' | 'enroll'; me: Me; mfaMethods: MfaMethod[]; mustChangePassword: boolean }
  | { status: 'authenticated'; me: Me; mustChangePassword: boolean };

interface AuthContextValue {
  state: AuthState;
  login(username: string, password: string): Promise<SessionView>;
  /** Sign-in step 2 with a code from the authenticator app or a recovery code. */
  secondFactor(method: 'totp' | 'recovery', code: string): Promise<SessionView>;
  /** Sign-in step 2 with a security key. */
  securityKey(): Promise<SessionView>;
  /** Takes the new CSRF token of a session the gateway stepped up (enrollment during sign-in). */
  adoptCsrfToken(token: string): void;
  /** Asks the gateway where the session stands (after an enrollment finished the sign-in). */
  refresh(): Promise<void>;
  changePassword(currentPassword: string, newPassword: string): Promise<SessionView>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [state, setState] = useState<AuthState>({ status: 'loading' });

  const accept = useCallback((s: SessionView) => {
    setCsrfToken(s.csrfToken);
    if (s.stage === 'mfa' || s.stage === 'enroll') {
      setState({ status: 'pending', stage: s.stage, me: s.user, mfaMethods: s.mfaMethods, mustChangePassword: s.mustChangePassword });
    } else {
      setState({ status: 'authenticated', me: s.user, mustChangePassword: s.mustChangePassword });
    }
    return s;
  }, []);

  const drop = useCallback(
    (reason: 'expired' | 'signed-out') => {
      setCsrfToken(null);
      qc.clear();
      setState({ status: 'anonymous', reason });
    },
    [qc],
  );

  // Restore an existing session on load (the cookie is HttpOnly; only the gateway can tell).
  useEffect(() => {
    const ctrl = new AbortController();
    request<SessionView>('GET', '/auth/session', { allowUnauthorized: true, signal: ctrl.signal })
      .then(accept)
      .catch((err) => {
        if (ctrl.signal.aborted) return;
        setCsrfToken(null);
        // 401 just means "not signed in"; anything else (gateway down) is worth showing.
        setState({ status: 'anonymous', error: err instanceof ApiError && err.status === 401 ? undefined : err });
      });
    return () => ctrl.abort();
  }, [accept]);

  // A 401 from any API call means the session is over (expired, revoked, or gateway restarted).
  useEffect(() => {
    onUnauthorized(() => drop('expired'));
    return () => onUnauthorized(null);
  }, [drop]);

  /**
   * A refused second factor answers 401. Wrong codes count toward the lockout, and a lock ends the
   * half-open session: when the gateway no longer knows it, go back to the password with the reason.
   */
  const stepTwo = useCallback(
    async (call: () => Promise<SessionView>) => {
      try {
        return accept(await call());
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          const still = await request<SessionView>('GET', '/auth/session', { allowUnauthorized: true }).catch(() => null);
          if (!still) {
            setCsrfToken(null);
            qc.clear();
            setState({ status: 'anonymous', notice: err });
          }
        }
        throw err;
      }
    },
    [accept, qc],
  );

  const value = useMemo<AuthContextValue>(
    () => ({
      state,
      login: async (username, password) =>
        accept(await request<SessionView>('POST', '/auth/login', { json: { username, password }, allowUnauthorized: true })),
      secondFactor: (method, code) => stepTwo(() => request<SessionView>('POST', `/auth/mfa/${method}`, { json: { code }, allowUnauthorized: true })),
      securityKey: () => stepTwo(() => assertWithSecurityKey<SessionView>()),
      adoptCsrfToken: (token) => setCsrfToken(token),
      refresh: async () => {
        accept(await request<SessionView>('GET', '/auth/session'));
      },
      changePassword: async (currentPassword, newPassword) =>
        accept(await request<SessionView>('POST', '/auth/change-password', { json: { currentPassword, newPassword }, allowUnauthorized: true })),
      logout: async () => {
        try {
          await request<void>('POST', '/auth/logout', { allowUnauthorized: true });
        } finally {
          drop('signed-out');
        }
      },
    }),
    [state, accept, drop, stepTwo],
  );

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in user (inside the authenticated part of the app, and during the sign-in steps). */
export function useMe(): Me {
  const { state } = useAuth();
  if (state.status !== 'authenticated' && state.status !== 'pending') throw new Error('useMe without a session');
  return state.me;
}

/** Administrators change inventory and users; Operators see them read-only. */
export function useIsAdmin(): boolean {
  return useMe().role === 'Administrator';
}

export function useIsStaff(): boolean {
  const role = useMe().role;
  return role === 'Administrator' || role === 'Operator';
}
