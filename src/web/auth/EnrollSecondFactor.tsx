import { Anchor, Group, SegmentedControl, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import type { EnrollmentResult } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { RecoveryCodes } from '../profile/RecoveryCodes';
import { SecurityKeySetup } from '../profile/SecurityKeySetup';
import { TotpSetup } from '../profile/TotpSetup';
import { AuthCard } from './AuthCard';
import { useAuth } from './AuthProvider';
import { webauthnSupported } from './webauthn';

/**
 * Sign-in with an account that requires a second factor and has none: enroll one now (the gateway
 * allows nothing else), keep the recovery codes, then continue (to the forced password change when
 * the password was a one-time one).
 */
export function EnrollSecondFactor({ username }: { username: string }) {
  const { adoptCsrfToken, refresh, logout } = useAuth();
  const [method, setMethod] = useState<'totp' | 'webauthn'>('totp');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const finish = () => {
    setError(null);
    refresh().catch(setError);
  };
  const enrolled = (r: EnrollmentResult) => {
    if (r.csrfToken) adoptCsrfToken(r.csrfToken);
    if (r.recoveryCodes?.length) setCodes(r.recoveryCodes);
    else finish();
  };

  if (codes)
    return (
      <AuthCard title="Two-factor authentication is on" subtitle="One more step: keep a way back in." width={520}>
        <Stack>
          <ProblemAlert error={error} title="Could not continue" />
          <RecoveryCodes codes={codes} username={username} onDone={finish} />
        </Stack>
      </AuthCard>
    );

  return (
    <AuthCard
      title="Set up two-factor authentication"
      subtitle={
        <>
          The account <b>{username}</b> must confirm each sign-in with a second factor. Set one up to continue.
        </>
      }
      width={560}
    >
      <Stack data-testid="enroll-second-factor">
        {webauthnSupported() && (
          <SegmentedControl
            fullWidth
            value={method}
            onChange={(v) => setMethod(v as 'totp' | 'webauthn')}
            data={[
              { value: 'totp', label: 'Authenticator app' },
              { value: 'webauthn', label: 'Security key' },
            ]}
            aria-label="Second factor"
            data-testid="enroll-method"
          />
        )}
        {method === 'totp' ? <TotpSetup onConfirmed={enrolled} /> : <SecurityKeySetup onRegistered={enrolled} />}
        <Group justify="space-between">
          <Text size="xs" c="dimmed">
            Required by your administrator's security policy.
          </Text>
          <Anchor component="button" type="button" size="xs" c="dimmed" onClick={() => void logout()} data-testid="enroll-cancel">
            Sign out
          </Anchor>
        </Group>
      </Stack>
    </AuthCard>
  );
}
