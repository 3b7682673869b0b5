import { Alert, Anchor, Box, Button, Center, Group, Image, Loader, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { EnrollmentResult, TotpEnrollment } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { IconAlert } from '../common/icons';
import { CopyField } from '../common/ui';

/** "JBSWY3DPEHPK3PXP" -> "JBSW Y3DP EHPK 3PXP" (apps accept it either way). */
export const groupSecret = (s: string) => s.replace(/(.{4})(?=.)/g, '$1 ');

interface Props {
  /** After the gateway accepted the first code (recovery codes come with the first enrollment). */
  onConfirmed: (result: EnrollmentResult) => void;
  onCancel?: () => void;
  /** Re-enrollment: the current app keeps working until the new one is confirmed. */
  replacing?: boolean;
  cancelLabel?: string;
}

/**
 * Authenticator-app enrollment: starts it on mount (a fresh secret), shows the QR code and the
 * secret for manual entry, and confirms with the first code from the app.
 */
export function TotpSetup({ onConfirmed, onCancel, replacing, cancelLabel = 'Cancel' }: Props) {
  const start = useMutation({ mutationFn: () => api.post<TotpEnrollment>('/me/mfa/totp/enroll') });
  const confirm = useMutation({ mutationFn: (code: string) => api.post<EnrollmentResult>('/me/mfa/totp/confirm', { code }) });
  const [code, setCode] = useState('');
  const started = useRef(false);
  const begin = start.mutate;

  // Exactly one enrollment per mount (a second call would replace the secret being scanned).
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    begin();
  }, [begin]);

  const clean = code.replace(/\s/g, '');
  const valid = /^\d{6}$/.test(clean);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!valid || confirm.isPending) return;
    confirm.mutate(clean, { onSuccess: onConfirmed, onError: () => setCode('') });
  };

  if (start.isPending || start.isIdle)
    return (
      <Center p="xl">
        <Loader size="sm" />
      </Center>
    );
  if (start.isError)
    return (
      <Stack>
        <ProblemAlert error={start.error} title="Could not start the enrollment" />
        <Group justify="flex-end">
          {onCancel && (
            <Button variant="default" onClick={onCancel}>
              {cancelLabel}
            </Button>
          )}
          <Button onClick={() => start.mutate()}>Try again</Button>
        </Group>
      </Stack>
    );

  const e = start.data;
  const fe = fieldErrors(confirm.error);
  return (
    <form onSubmit={submit} noValidate data-testid="totp-setup">
      <Stack gap="md">
        {replacing && (
          <Alert color="blue" variant="light" icon={<IconAlert />}>
            Your current authenticator app keeps working until the new one is confirmed.
          </Alert>
        )}
        <Group align="flex-start" gap="lg" wrap="nowrap">
          <Box p={6} bg="white" style={{ border: '1px solid var(--mantine-color-gray-3)', borderRadius: 'var(--mantine-radius-md)', flex: 'none' }}>
            <Image src={e.qrCode} alt="QR code to scan with the authenticator app" w={168} h={168} fit="contain" data-testid="totp-qr" />
          </Box>
          <Stack gap={6} style={{ flex: 1, minWidth: 0 }}>
            <Text size="sm" fw={600}>
              1. Scan the QR code
            </Text>
            <Text size="sm" c="dimmed">
              Open your authenticator app (Microsoft Authenticator, Google Authenticator, FreeOTP, 1Password, …) and add an
              account by scanning the code.
            </Text>
            <Text size="sm" fw={600} mt={4}>
              Can't scan it? Enter this key
            </Text>
            <CopyField value={e.secret} display={groupSecret(e.secret)} testId="totp-secret" size="sm" />
            <Text size="xs" c="dimmed">
              Time-based, 6 digits, 30 seconds (SHA-1).{' '}
              <Anchor href={e.otpauthUri} size="xs">
                Open in an app on this device
              </Anchor>
            </Text>
          </Stack>
        </Group>
        <ProblemAlert error={confirm.error} inlinePaths={['/code']} title="Code not accepted" />
        <TextInput
          label="2. Enter the 6-digit code the app shows"
          placeholder="123 456"
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={7}
          value={code}
          onChange={(ev) => setCode(ev.currentTarget.value.replace(/[^\d ]/g, ''))}
          error={fe.get('/code')}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', letterSpacing: '0.2em', fontSize: 'var(--mantine-font-size-lg)' } }}
          data-autofocus
          data-testid="totp-code"
        />
        <Group justify="flex-end">
          {onCancel && (
            <Button variant="default" onClick={onCancel} disabled={confirm.isPending}>
              {cancelLabel}
            </Button>
          )}
          <Button type="submit" loading={confirm.isPending} disabled={!valid} data-testid="totp-confirm">
            Verify and turn on
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
