import { Alert, Paper, Stack, Switch, Text, Textarea, TextInput } from '@mantine/core';
import type { LoginMessage } from '../api/types';
import { fieldErrors } from '../common/errors';
import { IconShield } from '../common/icons';
import { Section } from '../common/ui';
import { SettingsForm } from './SettingsForm';
import { useSettingsForm } from './useSettingsForm';

/** System Management -> Login message: the system-use notification shown before sign-in (IEC 62443-3-3 SR 1.12). */
export function LoginMessagePage() {
  const f = useSettingsForm<LoginMessage>('/settings/login-message', 'login-message');
  const fe = fieldErrors(f.save.error);

  return (
    <SettingsForm
      form={f}
      testId="login-message-form"
      title="Login message"
      description="The notice every user sees on the sign-in page before entering credentials: authorized use, monitoring, consent."
      saveTestId="login-message-save"
      loadErrorTitle="Could not load the login message"
      saveErrorTitle="Login message not saved"
      inlinePaths={['/title', '/text', '/enabled']}
      savedText="Login message saved. It is shown from the next visit of the sign-in page."
      savedTestId="login-message-saved"
      skeletonHeight={320}
    >
      {(d) => (
        <>
          <Section title="Message" testId="login-message-section">
            <Stack>
              <Switch label="Show the message on the sign-in page" checked={d.enabled} onChange={(e) => f.set('enabled', e.currentTarget.checked)} data-testid="login-message-enabled" />
              <TextInput label="Title" maxLength={200} value={d.title} onChange={(e) => f.set('title', e.currentTarget.value)} error={fe.get('/title')} disabled={!d.enabled} data-testid="login-message-title-input" />
              <Textarea
                label="Text"
                description="Plain text; line breaks are kept. Up to 5000 characters."
                autosize
                minRows={4}
                maxRows={14}
                maxLength={5000}
                value={d.text}
                onChange={(e) => f.set('text', e.currentTarget.value)}
                error={fe.get('/text')}
                disabled={!d.enabled}
                data-testid="login-message-text-input"
              />
            </Stack>
          </Section>
          <Section title="Preview" description="As it appears above the sign-in form.">
            {d.enabled ? (
              <Paper maw={420} p="md" withBorder bg="var(--mantine-color-gray-0)">
                <Alert color="gray" variant="default" icon={<IconShield />} title={d.title || undefined} styles={{ title: { fontWeight: 600 } }}>
                  <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
                    {d.text}
                  </Text>
                </Alert>
              </Paper>
            ) : (
              <Text size="sm" c="dimmed">
                No message is shown.
              </Text>
            )}
          </Section>
        </>
      )}
    </SettingsForm>
  );
}
