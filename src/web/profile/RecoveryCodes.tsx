import { Alert, Button, Checkbox, Code, CopyButton, Group, SimpleGrid, Stack } from '@mantine/core';
import { useState } from 'react';
import { IconAlert, IconCheck, IconCopy } from '../common/icons';
import { DownloadTextButton } from '../common/ui';

export function recoveryCodesText(codes: string[], username: string): string {
  const when = new Date().toISOString().replace('T', ' ').slice(0, 16);
  return [
    `Portcullis recovery codes for ${username}`,
    `Issued ${when} UTC (${location.host})`,
    '',
    'Each code signs you in once when your authenticator app or security key is not at hand.',
    'Keep them somewhere safe and offline. Generating new codes invalidates these.',
    '',
    ...codes.map((c, i) => `${String(i + 1).padStart(2, ' ')}. ${c}`),
    '',
  ].join('\n');
}

/**
 * Freshly issued recovery codes, shown exactly once: copy, download as .txt, and an explicit
 * "I have saved them" before the way on.
 */
export function RecoveryCodes({ codes, username, onDone, doneLabel = 'Continue' }: { codes: string[]; username: string; onDone: () => void; doneLabel?: string }) {
  const [saved, setSaved] = useState(false);
  const text = recoveryCodesText(codes, username);
  return (
    <Stack data-testid="recovery-codes">
      <Alert color="yellow" variant="light" icon={<IconAlert />} title="Save your recovery codes">
        Each code signs you in once if you lose your authenticator. They are shown only now: store them in a password manager or
        print them and keep them locked away.
      </Alert>
      <SimpleGrid cols={2} spacing="xs" verticalSpacing="xs">
        {codes.map((c) => (
          <Code key={c} fz="md" p="xs" ta="center" data-testid="recovery-code">
            {c}
          </Code>
        ))}
      </SimpleGrid>
      <Group gap="xs">
        <CopyButton value={codes.join('\n')} timeout={2000}>
          {({ copied, copy }) => (
            <Button
              variant={copied ? 'light' : 'default'}
              color={copied ? 'teal' : undefined}
              onClick={copy}
              leftSection={copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
              data-testid="recovery-codes-copy"
            >
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
        <DownloadTextButton filename={`portcullis-recovery-codes-${username}.txt`} text={text} testId="recovery-codes-download" />
      </Group>
      <Checkbox
        label="I have saved these codes in a safe place"
        checked={saved}
        onChange={(e) => setSaved(e.currentTarget.checked)}
        data-testid="recovery-codes-saved"
      />
      <Group justify="flex-end">
        <Button onClick={onDone} disabled={!saved} data-testid="recovery-codes-done">
          {doneLabel}
        </Button>
      </Group>
    </Stack>
  );
}
