import { Alert, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { ApiError, request } from '../api/client';
import type { LoginMessage } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { IconAlert, IconShield } from '../common/icons';
import { AuthCard } from './AuthCard';
import { useAuth } from './AuthProvider';
import { ChangePasswordForm } from './ChangePasswordForm';
import { EnrollSecondFactor } from './EnrollSecondFactor';
import { FullPageLoader } from './RequireAuth';
import { SecondFactorForm } from './SecondFactorForm';

/** Where to go after signing in: the page that sent us here, else the dashboard. */
function useReturnTo(): string {
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  return from?.startsWith('/') && !from.startsWith('//') && !from.startsWith('/login') ? from : '/';
}

export function LoginPage() {
  const { state } = useAuth();
  const returnTo = useReturnTo();
  if (state.status === 'loading') return <FullPageLoader />;
  // Order of the steps: password, second factor (or its enrollment), forced password change.
  if (state.status === 'pending') {
    return state.stage === 'enroll' ? <EnrollSecondFactor username={state.me.username} /> : <SecondFactorForm username={state.me.username} methods={state.mfaMethods} />;
  }
  if (state.status === 'authenticated') {
    if (state.mustChangePassword) return <ChangePasswordForm forced />;
    return <Navigate to={returnTo} replace />;
  }
  return <LoginForm expired={state.reason === 'expired'} probeError={state.error} notice={state.notice} />;
}

/** The system-use notification (SR 1.12), configured under System Management. */
function LoginMessageNotice() {
  const q = useQuery({
    queryKey: ['login-message'],
    queryFn: ({ signal }) => request<LoginMessage>('GET', '/auth/login-message', { allowUnauthorized: true, signal }),
    staleTime: 60_000,
    retry: false,
  });
  const m = q.data;
  if (!m?.enabled || (!m.title.trim() && !m.text.trim())) return null;
  return (
    <Alert color="gray" variant="default" icon={<IconShield />} title={m.title || undefined} data-testid="login-message" styles={{ title: { fontWeight: 600 } }}>
      <Text size="sm" style={{ whiteSpace: 'pre-wrap' }} data-testid="login-message-text">
        {m.text}
      </Text>
    </Alert>
  );
}

function LoginForm({ expired, probeError, notice }: { expired: boolean; probeError: unknown; notice: unknown }) {
  const { login } = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!username.trim() || !password) return;
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
    } catch (err) {
      setError(err);
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  const badCredentials = error instanceof ApiError && error.status === 401;
  return (
    <AuthCard title="Sign in" subtitle="Use your Portcullis or directory account.">
      <form onSubmit={submit} noValidate>
        <Stack>
          <LoginMessageNotice />
          {!!notice && !error && (
            <Alert color="orange" variant="light" icon={<IconAlert />} title="Sign-in stopped" role="alert" data-testid="login-notice">
              {notice instanceof ApiError ? notice.problem.detail || notice.problem.title : 'Start again with your password.'} Sign in again.
            </Alert>
          )}
          {expired && !error && (
            <Alert color="blue" variant="light" data-testid="session-expired">
              Your session has ended. Sign in again to continue.
            </Alert>
          )}
          {!!probeError && !error && <ProblemAlert error={probeError} title="The gateway is not answering" />}
          {badCredentials ? (
            <Alert color="red" variant="light" icon={<IconAlert />} title="Sign-in failed" role="alert" data-testid="login-error">
              {error.problem.detail || 'Wrong username or password.'}
            </Alert>
          ) : (
            <ProblemAlert error={error} title="Sign-in failed" />
          )}
          <TextInput
            label="Username"
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
            data-testid="login-username"
          />
          <PasswordInput
            label="Password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            data-testid="login-password"
          />
          <Button type="submit" loading={busy} disabled={!username.trim() || !password} fullWidth data-testid="login-submit">
            Sign in
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
