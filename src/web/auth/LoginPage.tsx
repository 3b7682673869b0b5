import { Alert, Button, PasswordInput, Stack, TextInput } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { ApiError } from '../api/client';
import { ProblemAlert } from '../common/errors';
import { IconAlert } from '../common/icons';
import { AuthCard } from './AuthCard';
import { useAuth } from './AuthProvider';
import { ChangePasswordForm } from './ChangePasswordForm';
import { FullPageLoader } from './RequireAuth';

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
  if (state.status === 'authenticated') {
    if (state.mustChangePassword) return <ChangePasswordForm forced />;
    return <Navigate to={returnTo} replace />;
  }
  return <LoginForm expired={state.status === 'anonymous' && state.reason === 'expired'} probeError={state.status === 'anonymous' ? state.error : undefined} />;
}

function LoginForm({ expired, probeError }: { expired: boolean; probeError: unknown }) {
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
