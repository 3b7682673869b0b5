import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, onUnauthorized, request, setCsrfToken } from '../api/client';
import type { Me, SessionInfo } from '../api/types';

type AuthState =
  | { status: 'loading' }
  | { status: 'anonymous'; reason?: 'expired' | 'signed-out'; error?: unknown }
  | { status: 'authenticated'; me: Me; mustChangePassword: boolean };

interface AuthContextValue {
  state: AuthState;
  login(username: string, password: string): Promise<SessionInfo>;
  changePassword(currentPassword: string, newPassword: string): Promise<SessionInfo>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [state, setState] = useState<AuthState>({ status: 'loading' });

  const accept = useCallback((s: SessionInfo) => {
    setCsrfToken(s.csrfToken);
    setState({ status: 'authenticated', me: s.user, mustChangePassword: s.mustChangePassword });
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
    request<SessionInfo>('GET', '/auth/session', { allowUnauthorized: true, signal: ctrl.signal })
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

  const value = useMemo<AuthContextValue>(
    () => ({
      state,
      login: async (username, password) =>
        accept(await request<SessionInfo>('POST', '/auth/login', { json: { username, password }, allowUnauthorized: true })),
      changePassword: async (currentPassword, newPassword) =>
        accept(await request<SessionInfo>('POST', '/auth/change-password', { json: { currentPassword, newPassword }, allowUnauthorized: true })),
      logout: async () => {
        try {
          await request<void>('POST', '/auth/logout', { allowUnauthorized: true });
        } finally {
          drop('signed-out');
        }
      },
    }),
    [state, accept, drop],
  );

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in user (only inside the authenticated part of the app). */
export function useMe(): Me {
  const { state } = useAuth();
  if (state.status !== 'authenticated') throw new Error('useMe without a session');
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
