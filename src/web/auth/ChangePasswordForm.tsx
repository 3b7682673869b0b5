import { Alert, Button, Group, PasswordInput, Stack } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { IconKey } from '../common/icons';
import { AuthCard } from './AuthCard';
import { useAuth } from './AuthProvider';

/**
 * Password change. `forced`: the account signed in with a one-time (or expired) password and may
 * do nothing else until it has chosen its own.
 */
export function ChangePasswordForm({ forced = false, onDone }: { forced?: boolean; onDone?: () => void }) {
  const { state, changePassword, logout } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [touched, setTouched] = useState(false);

  const mismatch = touched && repeat !== '' && next !== repeat ? 'The two new passwords differ' : undefined;
  const same = next !== '' && next === current ? 'Choose a password different from the current one' : undefined;
  const fe = fieldErrors(error);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (!current || !next || next !== repeat || next === current) return;
    setBusy(true);
    setError(null);
    try {
      await changePassword(current, next);
      onDone?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const username = state.status === 'authenticated' ? state.me.username : '';
  const form = (
    <form onSubmit={submit} noValidate data-testid="change-password-form">
      {/* For password managers: which account this new password belongs to. */}
      <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
      <Stack>
        {forced && (
          <Alert color="yellow" variant="light" icon={<IconKey />} title="Choose your own password">
            You signed in{username ? ` as ${username}` : ''} with a one-time or expired password. Set a new password before
            you continue.
          </Alert>
        )}
        <ProblemAlert error={error} inlinePaths={['/currentPassword', '/newPassword']} title="Password not changed" />
        <PasswordInput
          label="Current password"
          autoComplete="current-password"
          required
          autoFocus
          value={current}
          onChange={(e) => setCurrent(e.currentTarget.value)}
          error={fe.get('/currentPassword')}
          data-testid="current-password"
        />
        <PasswordInput
          label="New password"
          autoComplete="new-password"
          required
          value={next}
          onChange={(e) => setNext(e.currentTarget.value)}
          error={same ?? fe.get('/newPassword')}
          description="Long passphrases are best. The gateway enforces the password policy."
          data-testid="new-password"
        />
        <PasswordInput
          label="Repeat new password"
          autoComplete="new-password"
          required
          value={repeat}
          onChange={(e) => setRepeat(e.currentTarget.value)}
          onBlur={() => setTouched(true)}
          error={mismatch}
          data-testid="repeat-password"
        />
        <Group justify={forced ? 'space-between' : 'flex-end'}>
          {forced && (
            <Button variant="subtle" color="gray" onClick={() => void logout()}>
              Sign out
            </Button>
          )}
          <Button type="submit" loading={busy} disabled={!current || !next || !repeat} data-testid="change-password-submit">
            Change password
          </Button>
        </Group>
      </Stack>
    </form>
  );
  return forced ? <AuthCard title="New password required">{form}</AuthCard> : form;
}
