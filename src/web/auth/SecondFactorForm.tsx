import { Alert, Anchor, Button, Group, Stack, Text, TextInput } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { ApiError } from '../api/client';
import type { MfaMethod } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { IconAlert, IconDeviceMobile, IconKey, IconUsbKey } from '../common/icons';
import { AuthCard } from './AuthCard';
import { useAuth } from './AuthProvider';
import { webauthnErrorMessage, webauthnSupported } from './webauthn';

const TITLES: Record<MfaMethod, string> = {
  totp: 'Enter the code from your authenticator app.',
  webauthn: 'Use your security key.',
  recovery: 'Enter one of your recovery codes. Each works once.',
};

/** Sign-in step 2: a TOTP code, a security key, or a recovery code (whichever the account has). */
export function SecondFactorForm({ username, methods }: { username: string; methods: MfaMethod[] }) {
  const { secondFactor, securityKey, logout } = useAuth();
  const usable = methods.filter((m) => m !== 'webauthn' || webauthnSupported());
  const [method, setMethod] = useState<MfaMethod>(usable.find((m) => m !== 'recovery') ?? usable[0] ?? 'totp');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const switchTo = (m: MfaMethod) => {
    setMethod(m);
    setCode('');
    setError(null);
  };

  async function run(call: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await call();
    } catch (err) {
      setError(err);
      setCode('');
    } finally {
      setBusy(false);
    }
  }

  const clean = method === 'totp' ? code.replace(/\s/g, '') : code.trim();
  const valid = method === 'totp' ? /^\d{6}$/.test(clean) : clean.length >= 8;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!valid || busy || method === 'webauthn') return;
    void run(() => secondFactor(method, clean));
  };

  const refused = error instanceof ApiError && (error.status === 401 || error.status === 400);
  const keyMessage = error && !(error instanceof ApiError) ? webauthnErrorMessage(error) : null;
  const others = usable.filter((m) => m !== method);

  return (
    <AuthCard title="Two-factor authentication" subtitle={<>Signed in as <b>{username}</b>. {TITLES[method]}</>}>
      <form onSubmit={submit} noValidate data-testid="mfa-form" data-method={method}>
        <Stack>
          {refused ? (
            <Alert color="red" variant="light" icon={<IconAlert />} title="Not accepted" role="alert" data-testid="mfa-error">
              {error.problem.detail || 'The code was not accepted.'}
            </Alert>
          ) : keyMessage ? (
            <Alert color="red" variant="light" icon={<IconAlert />} title="Security key" role="alert" data-testid="mfa-error">
              {keyMessage}
            </Alert>
          ) : (
            <ProblemAlert error={error} title="Sign-in failed" />
          )}
          {usable.length === 0 && (
            <Alert color="yellow" variant="light" icon={<IconAlert />}>
              Your second factor is a security key, which this browser cannot use. Sign in from a browser that supports security
              keys, or ask an administrator to reset your second factors.
            </Alert>
          )}
          {method === 'totp' && (
            <TextInput
              label="Authentication code"
              placeholder="123 456"
              inputMode="numeric"
              autoComplete="one-time-code"
              autoFocus
              maxLength={7}
              leftSection={<IconDeviceMobile size={16} />}
              value={code}
              onChange={(e) => setCode(e.currentTarget.value.replace(/[^\d ]/g, ''))}
              styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', letterSpacing: '0.2em', fontSize: 'var(--mantine-font-size-lg)' } }}
              data-testid="mfa-code"
            />
          )}
          {method === 'recovery' && (
            <TextInput
              label="Recovery code"
              placeholder="xxxx-xxxx-xxxx"
              autoComplete="off"
              spellCheck={false}
              autoFocus
              maxLength={64}
              leftSection={<IconKey size={16} />}
              value={code}
              onChange={(e) => setCode(e.currentTarget.value)}
              styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
              data-testid="mfa-recovery-code"
            />
          )}
          {method === 'webauthn' ? (
            <Button leftSection={<IconUsbKey size={18} />} loading={busy} fullWidth onClick={() => void run(securityKey)} data-testid="mfa-webauthn">
              Use security key
            </Button>
          ) : (
            <Button type="submit" loading={busy} disabled={!valid} fullWidth data-testid="mfa-submit">
              Verify
            </Button>
          )}
          {others.length > 0 && (
            <Stack gap={4}>
              {others.map((m) => (
                <Anchor key={m} component="button" type="button" size="sm" onClick={() => switchTo(m)} data-testid={`mfa-use-${m}`} style={{ alignSelf: 'flex-start' }}>
                  {m === 'totp' ? 'Use the authenticator app instead' : m === 'webauthn' ? 'Use a security key instead' : 'Use a recovery code'}
                </Anchor>
              ))}
            </Stack>
          )}
          <Group justify="space-between" mt={4}>
            <Text size="xs" c="dimmed">
              Lost your second factor? Ask an administrator.
            </Text>
            <Anchor component="button" type="button" size="xs" c="dimmed" onClick={() => void logout()} data-testid="mfa-cancel">
              Cancel sign-in
            </Anchor>
          </Group>
        </Stack>
      </form>
    </AuthCard>
  );
}
