import { Alert, Badge, Button, Checkbox, Group, NumberInput, PasswordInput, SegmentedControl, SimpleGrid, Skeleton, Stack, Switch, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, request } from '../api/client';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { formatDateTime } from '../common/format';
import { IconAlert, IconCheck } from '../common/icons';
import { DataTable } from '../common/table';
import { PageHeader, Section } from '../common/ui';
import { IconSend } from './notifyIcons';
import type { OutboxEmail, ProbeResult, SmtpSecurity, SmtpSettings } from './notifyTypes';

const INLINE = ['/enabled', '/host', '/port', '/security', '/username', '/password', '/fromAddress', '/fromName', '/acceptSelfSigned', '/heloName'];
const DEFAULT_PORT: Record<SmtpSecurity, number> = { none: 25, starttls: 587, tls: 465 };
const STATE_COLOR: Record<OutboxEmail['state'], string> = { queued: 'orange', sending: 'blue', sent: 'teal', failed: 'red' };

type Draft = Omit<SmtpSettings, 'hasPassword' | 'updatedAt'>;
const toDraft = ({ hasPassword: _h, updatedAt: _u, ...d }: SmtpSettings): Draft => d;

/** System Management -> Email (SMTP): the mail server notifications go through, and a test send. */
export function EmailSettingsPage() {
  const qc = useQueryClient();
  const doc = useQuery({ queryKey: ['settings', 'smtp'], queryFn: ({ signal }) => api.get<SmtpSettings>('/settings/smtp', undefined, signal) });
  const outbox = useQuery({ queryKey: ['settings', 'smtp', 'outbox'], queryFn: ({ signal }) => api.get<{ items: OutboxEmail[] }>('/notify/emails', { limit: 20 }, signal), refetchInterval: 15_000 });
  const [draft, setDraft] = useState<Draft | null>(null);
  const [password, setPassword] = useState('');
  const [removePassword, setRemovePassword] = useState(false);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [to, setTo] = useState('');
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => request<SmtpSettings>('PUT', '/settings/smtp', { json: body }),
    onSuccess: async (next) => {
      setDraft(toDraft(next));
      setPassword('');
      setRemovePassword(false);
      setSavedAt(Date.now());
      await qc.invalidateQueries({ queryKey: ['settings', 'smtp'] });
    },
  });
  const test = useMutation({
    mutationFn: (address: string) => api.post<ProbeResult>('/settings/smtp/test', { to: address }),
    onSettled: () => qc.invalidateQueries({ queryKey: ['audit'] }),
  });

  useEffect(() => {
    if (doc.data && draft === null) setDraft(toDraft(doc.data));
  }, [doc.data, draft]);

  const fe = fieldErrors(save.error);
  const stored = doc.data;
  const dirty = !!draft && !!stored && (JSON.stringify(draft) !== JSON.stringify(toDraft(stored)) || password !== '' || removePassword);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setSavedAt(null);
    setDraft((d) => (d ? { ...d, [k]: v } : d));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!draft) return;
    const body: Record<string, unknown> = { ...draft, host: draft.host.trim(), username: draft.username.trim(), fromAddress: draft.fromAddress.trim() };
    if (password) body.password = password;
    else if (removePassword) body.password = null;
    save.mutate(body);
  };

  const d = draft;
  return (
    <form onSubmit={submit} noValidate data-testid="smtp-settings-form">
      <Stack gap="lg" maw={1080}>
        <PageHeader
          title="Email (SMTP)"
          description="The mail server the gateway sends notifications through: access requests to approvers, decisions, window start and end, sessions waiting for approval, break-glass alerts. Changes are audited; the password is stored encrypted and never shown."
          actions={
            <>
              <Button
                variant="default"
                disabled={!dirty || save.isPending}
                onClick={() => {
                  save.reset();
                  setPassword('');
                  setRemovePassword(false);
                  setDraft(stored ? toDraft(stored) : null);
                }}
                data-testid="smtp-discard"
              >
                Discard changes
              </Button>
              <Button type="submit" disabled={!dirty} loading={save.isPending} data-testid="smtp-save">
                Save changes
              </Button>
            </>
          }
        />
        {doc.error ? <ProblemAlert error={doc.error} title="Could not load the email settings" /> : null}
        <ProblemAlert error={save.error} title="Email settings not saved" inlinePaths={INLINE} />
        {savedAt && !dirty && (
          <Alert color="teal" variant="light" icon={<IconCheck />} data-testid="smtp-saved">
            Email settings saved.
          </Alert>
        )}
        {!d ? (
          <Skeleton h={420} />
        ) : (
          <>
            <Section title="Mail server" description="Often an internal relay on port 25 without TLS and without a login, or a mail server on 587 with STARTTLS and a service account." testId="smtp-server">
              <Stack gap="md">
                <Switch label="Send email notifications" description="Off: nothing is queued or sent" checked={d.enabled} onChange={(e) => set('enabled', e.currentTarget.checked)} error={fe.get('/enabled')} data-testid="smtp-enabled" />
                <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
                  <TextInput label="Host" placeholder="mail.plant.example" spellCheck={false} value={d.host} onChange={(e) => set('host', e.currentTarget.value)} error={fe.get('/host')} data-testid="smtp-host" />
                  <NumberInput label="Port" min={1} max={65535} allowDecimal={false} allowNegative={false} value={d.port} onChange={(v) => set('port', typeof v === 'number' ? v : Number.parseInt(v || '0', 10) || 0)} error={fe.get('/port')} data-testid="smtp-port" />
                  <div>
                    <Text size="sm" fw={500} mb={4}>
                      Security
                    </Text>
                    <SegmentedControl
                      fullWidth
                      value={d.security}
                      onChange={(v) => {
                        const sec = v as SmtpSecurity;
                        if (d.port === DEFAULT_PORT[d.security]) set('port', DEFAULT_PORT[sec]);
                        set('security', sec);
                        if (sec === 'none') set('acceptSelfSigned', false);
                      }}
                      data={[
                        { value: 'none', label: 'None' },
                        { value: 'starttls', label: 'STARTTLS' },
                        { value: 'tls', label: 'TLS' },
                      ]}
                      data-testid="smtp-security"
                    />
                    {fe.get('/security') && (
                      <Text size="xs" c="red" mt={4}>
                        {fe.get('/security')}
                      </Text>
                    )}
                  </div>
                </SimpleGrid>
                {d.security === 'none' && (
                  <Alert color="orange" variant="light" icon={<IconAlert />} py="xs">
                    Plain SMTP: messages cross the network unencrypted. Fine for a relay inside the plant network; no login is allowed without encryption.
                  </Alert>
                )}
                <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
                  <TextInput label="Username" description="Empty: no login (relay)" spellCheck={false} autoComplete="off" value={d.username} onChange={(e) => set('username', e.currentTarget.value)} error={fe.get('/username')} data-testid="smtp-username" />
                  <div>
                    <PasswordInput
                      label="Password"
                      description={stored?.hasPassword && !removePassword ? 'Stored. Leave empty to keep it' : 'Write-only: never shown again'}
                      placeholder={stored?.hasPassword && !removePassword ? '••••••••' : ''}
                      autoComplete="new-password"
                      value={password}
                      disabled={!d.username.trim()}
                      onChange={(e) => setPassword(e.currentTarget.value)}
                      error={fe.get('/password')}
                      data-testid="smtp-password"
                    />
                    {stored?.hasPassword && (
                      <Checkbox mt={6} size="xs" label="Remove the stored password" checked={removePassword} onChange={(e) => setRemovePassword(e.currentTarget.checked)} data-testid="smtp-remove-password" />
                    )}
                  </div>
                  <TextInput label="EHLO name" description="Empty: the machine's host name" placeholder="gateway.plant.example" spellCheck={false} value={d.heloName} onChange={(e) => set('heloName', e.currentTarget.value)} error={fe.get('/heloName')} data-testid="smtp-helo" />
                </SimpleGrid>
                <Switch
                  label="Accept self-signed certificates"
                  description="For test servers only: the server's certificate is not verified, so anyone on the path could read the password"
                  checked={d.acceptSelfSigned}
                  disabled={d.security === 'none'}
                  onChange={(e) => set('acceptSelfSigned', e.currentTarget.checked)}
                  error={fe.get('/acceptSelfSigned')}
                  data-testid="smtp-accept-self-signed"
                />
              </Stack>
            </Section>

            <Section title="Sender" description="The From of every notification. Use an address the mail server may send as." testId="smtp-sender">
              <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
                <TextInput label="Sender address" placeholder="portcullis@plant.example" spellCheck={false} value={d.fromAddress} onChange={(e) => set('fromAddress', e.currentTarget.value)} error={fe.get('/fromAddress')} data-testid="smtp-from-address" />
                <TextInput label="Sender name" value={d.fromName} onChange={(e) => set('fromName', e.currentTarget.value)} error={fe.get('/fromName')} data-testid="smtp-from-name" />
              </SimpleGrid>
            </Section>

            <Section title="Send test email" description="Sends one message now with the saved settings and shows what the mail server answered." testId="smtp-test">
              <Stack gap="sm">
                <Group align="flex-end" gap="sm">
                  <TextInput label="To" placeholder="you@plant.example" style={{ flex: '1 1 280px' }} value={to} onChange={(e) => setTo(e.currentTarget.value)} data-testid="smtp-test-to" />
                  <Button leftSection={<IconSend size={16} />} loading={test.isPending} disabled={!to.trim() || dirty} onClick={() => test.mutate(to.trim())} data-testid="smtp-test-send">
                    Send test email
                  </Button>
                </Group>
                {dirty && (
                  <Text size="xs" c="dimmed">
                    Save your changes first: the test uses the saved settings.
                  </Text>
                )}
                {test.isError && <ProblemAlert error={test.error} title="Test not sent" />}
                {test.data && (
                  <Alert color={test.data.ok ? 'teal' : 'red'} variant="light" icon={test.data.ok ? <IconCheck /> : <IconAlert />} title={test.data.ok ? 'Test email sent' : 'Test email failed'} data-testid="smtp-test-result" data-ok={test.data.ok ? 'true' : 'false'}>
                    <Text size="sm" style={{ wordBreak: 'break-word' }}>
                      {test.data.message}
                    </Text>
                  </Alert>
                )}
              </Stack>
            </Section>

            <Section title="Recent emails" description="The outbox: messages are retried with increasing delays while the mail server cannot be reached, and given up (audited) after several attempts." testId="smtp-outbox">
              <DataTable
                testId="smtp-outbox-table"
                minWidth={760}
                head={
                  <>
                    <Table.Th>Queued</Table.Th>
                    <Table.Th>Subject</Table.Th>
                    <Table.Th>To</Table.Th>
                    <Table.Th>State</Table.Th>
                  </>
                }
                status={{ colSpan: 4, loading: outbox.isPending, error: outbox.error, empty: (outbox.data?.items.length ?? 0) === 0, emptyText: 'No emails yet.' }}
              >
                {(outbox.data?.items ?? []).map((m) => (
                  <Table.Tr key={m.id} data-testid="smtp-outbox-row">
                    <Table.Td>{formatDateTime(m.createdAt)}</Table.Td>
                    <Table.Td maw={360}>
                      <Text size="sm" truncate="end" title={m.subject}>
                        {m.subject}
                      </Text>
                    </Table.Td>
                    <Table.Td maw={220}>
                      <Text size="sm" truncate="end" title={m.recipients.join(', ')}>
                        {m.recipients.join(', ')}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={STATE_COLOR[m.state]}>
                        {m.state}
                      </Badge>
                      {m.lastError && m.state !== 'sent' && (
                        <Text size="xs" c="red" title={m.lastError} lineClamp={2}>
                          {m.attempts} attempt{m.attempts === 1 ? '' : 's'}: {m.lastError}
                        </Text>
                      )}
                      {m.nextAttemptAt && (
                        <Text size="xs" c="dimmed">
                          next try {formatDateTime(m.nextAttemptAt)}
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </DataTable>
            </Section>
          </>
        )}
      </Stack>
    </form>
  );
}
