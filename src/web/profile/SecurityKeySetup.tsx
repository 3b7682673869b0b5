import { Alert, Button, Group, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { EnrollmentResult } from '../api/types';
import { registerSecurityKey, webauthnErrorMessage, webauthnSupported } from '../auth/webauthn';
import { ProblemAlert } from '../common/errors';
import { IconAlert, IconUsbKey } from '../common/icons';

/** Registers a FIDO2 security key (or platform passkey) under a name the user picks. */
export function SecurityKeySetup({ onRegistered, onCancel, cancelLabel = 'Cancel' }: { onRegistered: (r: EnrollmentResult) => void; onCancel?: () => void; cancelLabel?: string }) {
  const [name, setName] = useState('Security key');
  const register = useMutation({ mutationFn: (n: string) => registerSecurityKey<EnrollmentResult | undefined>(n) });
  const supported = webauthnSupported();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    register.mutate(name.trim(), { onSuccess: (r) => onRegistered(r ?? {}) });
  };
  const browserMessage = register.error ? webauthnErrorMessage(register.error) : null;

  return (
    <form onSubmit={submit} noValidate data-testid="webauthn-setup">
      <Stack>
        {!supported && (
          <Alert color="yellow" variant="light" icon={<IconAlert />}>
            This browser cannot use security keys. Use a current Chrome, Edge, Firefox or Safari over HTTPS.
          </Alert>
        )}
        <Text size="sm" c="dimmed">
          Insert your FIDO2 security key (YubiKey, Token2, …) or use this device's built-in authenticator, then follow the
          browser's prompt.
        </Text>
        <TextInput
          label="Name"
          description="To tell your keys apart, e.g. “YubiKey on my keyring”"
          required
          maxLength={64}
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          data-testid="webauthn-name"
        />
        {browserMessage ? (
          <Alert color="red" variant="light" icon={<IconAlert />} title="Key not registered" role="alert">
            {browserMessage}
          </Alert>
        ) : (
          <ProblemAlert error={register.error} title="Key not registered" />
        )}
        <Group justify="flex-end">
          {onCancel && (
            <Button variant="default" onClick={onCancel} disabled={register.isPending}>
              {cancelLabel}
            </Button>
          )}
          <Button type="submit" leftSection={<IconUsbKey size={16} />} loading={register.isPending} disabled={!supported || !name.trim()} data-testid="webauthn-register">
            Register security key
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
