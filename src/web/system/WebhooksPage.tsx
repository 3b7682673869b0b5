import { ActionIcon, Alert, Badge, Button, Group, Modal, MultiSelect, PasswordInput, SimpleGrid, Stack, Switch, Table, Text, TextInput, Tooltip } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { formatDateTime } from '../common/format';
import { FormFooter, FormModal, NameField } from '../common/forms';
import { IconAlert, IconCheck, IconKey, IconPlug } from '../common/icons';
import { DataTable, DeleteAction, EditAction, NameCell, RowAction, RowActions } from '../common/table';
import { ConfirmModal, ListPageHeader } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { type ProbeResult, WEBHOOK_EVENT_OPTIONS, type Webhook } from './notifyTypes';

const KEY = ['webhooks'];
const INLINE = ['/name', '/url', '/events', '/secret', '/enabled', '/allowRestricted'];
const DELIVERY_COLOR = { delivered: 'teal', retrying: 'orange', failed: 'red' } as const;

function useWebhookMutation<V, R>(fn: (v: V) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: KEY }) });
}

/** A random signing secret (shown in the form so it can be copied into the receiver before saving). */
function randomSecret(): string {
  const b = new Uint8Array(24);
  crypto.getRandomValues(b);
  return `whsec_${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** System Management -> Webhooks: HMAC-signed HTTP notifications to ITSM and other systems. */
export function WebhooksPage() {
  const hooks = useQuery({ queryKey: KEY, queryFn: ({ signal }) => api.get<{ items: Webhook[] }>('/webhooks', undefined, signal), refetchInterval: 15_000 });
  const [form, setForm] = useState<{ hook: Webhook | null } | null>(null);
  const [testing, setTesting] = useState<Webhook | null>(null);
  const test = useWebhookMutation((w: Webhook) => api.post<ProbeResult>(`/webhooks/${w.id}/test`));
  const remove = useWebhookMutation((w: Webhook) => api.delete(`/webhooks/${w.id}`));
  const del = useConfirmDelete(remove);
  const items = hooks.data?.items ?? [];

  return (
    <>
      <ListPageHeader
        title="Webhooks"
        description="HTTP POSTs announcing access requests, sessions and break-glass use to ITSM or chat systems. Each is signed with HMAC-SHA256 (X-Portcullis-Signature) and retried with increasing delays until the receiver answers 2xx."
        create={{ label: 'New webhook', testId: 'new-webhook', onClick: () => setForm({ hook: null }) }}
      />
      <DataTable
        testId="webhooks-table"
        minWidth={900}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>URL</Table.Th>
            <Table.Th>Events</Table.Th>
            <Table.Th>Last delivery</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th w={120} />
          </>
        }
        status={{ colSpan: 6, loading: hooks.isPending, error: hooks.error, empty: items.length === 0, emptyText: 'No webhooks. Notifications go by email only.' }}
      >
        {items.map((w) => (
          <Table.Tr key={w.id} data-testid="webhook-row" data-webhook-name={w.name}>
            <NameCell name={w.name} caption={`updated ${formatDateTime(w.updatedAt)}`} />
            <Table.Td maw={320}>
              <Group gap={6} wrap="nowrap">
                <Text size="sm" className="pc-mono" truncate="end" title={w.url}>
                  {w.url}
                </Text>
                {w.url.startsWith('http:') && (
                  <Tooltip label="Unencrypted: payloads cross the network in clear text (they are still signed)" withArrow>
                    <Badge size="xs" variant="light" color="orange">
                      http
                    </Badge>
                  </Tooltip>
                )}
                {w.allowRestricted && (
                  <Tooltip label="SSRF guard lifted: loopback, link-local and metadata addresses allowed" withArrow>
                    <Badge size="xs" variant="light" color="red">
                      override
                    </Badge>
                  </Tooltip>
                )}
              </Group>
            </Table.Td>
            <Table.Td maw={220}>
              <Text size="sm" truncate="end" title={w.events.join(', ')}>
                {w.events.includes('*') ? 'all events' : w.events.join(', ')}
              </Text>
            </Table.Td>
            <Table.Td data-testid="webhook-last-delivery">
              {w.lastDelivery ? (
                <>
                  <Badge variant="light" color={DELIVERY_COLOR[w.lastDelivery.state]}>
                    {w.lastDelivery.state}
                  </Badge>
                  <Text size="xs" c="dimmed">
                    {formatDateTime(w.lastDelivery.at)}
                  </Text>
                  {w.lastDelivery.error && (
                    <Text size="xs" c="red" lineClamp={2} title={w.lastDelivery.error}>
                      {w.lastDelivery.error}
                    </Text>
                  )}
                </>
              ) : (
                <Text size="sm" c="dimmed">
                  none yet
                </Text>
              )}
            </Table.Td>
            <Table.Td>
              <Badge variant="dot" color={w.enabled ? 'green' : 'gray'}>
                {w.enabled ? 'Enabled' : 'Disabled'}
              </Badge>
            </Table.Td>
            <RowActions>
              <RowAction
                tooltip="Send test event"
                label={`Send a test event to ${w.name}`}
                icon={IconPlug}
                onClick={() => {
                  setTesting(w);
                  test.mutate(w);
                }}
                testId="webhook-test"
              />
              <EditAction label={`Edit ${w.name}`} onClick={() => setForm({ hook: w })} testId="webhook-edit" />
              <DeleteAction label={`Delete ${w.name}`} onClick={() => del.ask(w)} testId="webhook-delete" />
            </RowActions>
          </Table.Tr>
        ))}
      </DataTable>

      <WebhookFormModal opened={form !== null} hook={form?.hook ?? null} onClose={() => setForm(null)} />
      <Modal opened={testing !== null} onClose={() => setTesting(null)} title={<Text fw={600}>Test event: {testing?.name}</Text>} size="lg" centered>
        <Stack>
          {test.isPending && <Text size="sm" c="dimmed">Sending a signed webhook.test event…</Text>}
          {test.isError && <ProblemAlert error={test.error} title="Test not sent" />}
          {test.data && (
            <Alert color={test.data.ok ? 'teal' : 'red'} variant="light" icon={test.data.ok ? <IconCheck /> : <IconAlert />} title={test.data.ok ? 'Delivered' : 'Not delivered'} data-testid="webhook-test-result" data-ok={test.data.ok ? 'true' : 'false'}>
              <Text size="sm" style={{ wordBreak: 'break-word' }}>
                {test.data.message}
              </Text>
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => testing && test.mutate(testing)} loading={test.isPending}>
              Send again
            </Button>
            <Button onClick={() => setTesting(null)}>Close</Button>
          </Group>
        </Stack>
      </Modal>
      <ConfirmModal {...del.modal} title="Delete webhook" confirmLabel="Delete webhook">
        <Text size="sm">
          Delete the webhook <b>{del.target?.name}</b>? Deliveries still waiting for it are dropped.
        </Text>
      </ConfirmModal>
    </>
  );
}

/** Create or edit a webhook. The secret is write-only: empty keeps the stored one. */
function WebhookFormModal({ opened, hook, onClose }: { opened: boolean; hook: Webhook | null; onClose: () => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['*']);
  const [secret, setSecret] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [allowRestricted, setAllowRestricted] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const save = useWebhookMutation((body: Record<string, unknown>) => (hook ? api.patch<Webhook>(`/webhooks/${hook.id}`, body) : api.post<Webhook>('/webhooks', body)));

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setSubmitted(false);
    setName(hook?.name ?? '');
    setUrl(hook?.url ?? '');
    setEvents(hook?.events ?? ['*']);
    setSecret('');
    setEnabled(hook?.enabled ?? true);
    setAllowRestricted(hook?.allowRestricted ?? false);
  }, [opened, hook]);

  const fe = fieldErrors(save.error);
  const problems = {
    name: !name.trim() ? 'Required' : undefined,
    url: !/^https?:\/\/[^\s/]+/i.test(url.trim()) ? 'An http:// or https:// URL, e.g. https://itsm.plant.example/hooks/portcullis' : undefined,
    events: events.length === 0 ? 'Choose at least one event (or “*” for all)' : undefined,
    secret: !hook && secret.length < 16 ? 'At least 16 characters: use “Generate”' : secret && secret.length < 16 ? 'At least 16 characters' : undefined,
  };
  const invalid = Object.values(problems).some(Boolean);
  const show = (m: string | undefined) => (submitted ? m : undefined);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) return;
    const body: Record<string, unknown> = { name: name.trim(), url: url.trim(), events, enabled, allowRestricted };
    if (secret) body.secret = secret;
    save.mutate(body, { onSuccess: onClose });
  };

  return (
    <FormModal opened={opened} onClose={onClose} title={hook ? `Edit webhook ${hook.name}` : 'New webhook'} size="xl" testId="webhook-form" onSubmit={submit} closeOnClickOutside={false}>
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={hook ? 'Webhook not saved' : 'Webhook not created'} />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <NameField description="Shown to administrators, e.g. “ServiceNow”" value={name} onChange={setName} error={fe.get('/name') ?? show(problems.name)} testId="webhook-name" />
        <Switch mt={{ base: 0, sm: 30 }} label="Enabled" description="Disabled webhooks receive nothing" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} data-testid="webhook-enabled" />
      </SimpleGrid>
      <TextInput label="URL" description="Receives a POST with a JSON body; redirects are not followed" placeholder="https://itsm.plant.example/hooks/portcullis" required spellCheck={false} value={url} onChange={(e) => setUrl(e.currentTarget.value)} error={fe.get('/url') ?? show(problems.url)} data-testid="webhook-url" />
      <MultiSelect label="Events" description="“*” for every event, or a group such as “request.*”" data={[...WEBHOOK_EVENT_OPTIONS]} value={events} onChange={setEvents} searchable error={fe.get('/events') ?? show(problems.events)} data-testid="webhook-events" />
      <Group align="flex-end" gap="xs" wrap="nowrap">
        <PasswordInput
          style={{ flex: 1 }}
          label="Signing secret"
          description={hook ? 'A secret is stored (never shown). Leave empty to keep it.' : 'Copy it into the receiver before saving: it is never shown again'}
          placeholder={hook ? '•••••••• (stored)' : undefined}
          autoComplete="new-password"
          value={secret}
          onChange={(e) => setSecret(e.currentTarget.value)}
          error={fe.get('/secret') ?? show(problems.secret)}
          data-testid="webhook-secret"
        />
        <Tooltip label="Generate a random secret" withArrow>
          <ActionIcon variant="default" size="lg" mb={hook ? 0 : 2} aria-label="Generate a random secret" onClick={() => setSecret(randomSecret())} data-testid="webhook-secret-generate">
            <IconKey size={16} />
          </ActionIcon>
        </Tooltip>
      </Group>
      <Switch
        label="Allow restricted addresses"
        description="Lifts the SSRF guard for this webhook: loopback (the gateway itself), link-local and cloud metadata addresses. Only for a receiver that really runs there."
        color="red"
        checked={allowRestricted}
        onChange={(e) => setAllowRestricted(e.currentTarget.checked)}
        data-testid="webhook-allow-restricted"
      />
      <FormFooter onCancel={onClose} submitLabel={hook ? 'Save webhook' : 'Create webhook'} submitTestId="webhook-submit" saving={save.isPending} feedback={{ error: save.error, invalid: submitted && invalid }} />
    </FormModal>
  );
}
