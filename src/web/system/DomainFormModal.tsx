import { ActionIcon, Alert, Button, Checkbox, Divider, Group, PasswordInput, Select, SimpleGrid, Stack, Switch, Text, Textarea, TextInput, Tooltip } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { useAll, useApiMutation } from '../api/hooks';
import { type Group as UserGroup, type GroupMapping, type LdapDomain, ROLES, type Role } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { FormFooter, FormModal, NameField } from '../common/forms';
import { IconAlert, IconPlug, IconPlus, IconTrash } from '../common/icons';
import { ConnectionTestResult, useConnectionTest } from './ConnectionTest';

const DEFAULT_FILTER = '(&(objectClass=person)(uid={username}))';
const INLINE = ['/name', '/url', '/bindDn', '/bindPassword', '/baseDn', '/userFilter', '/usernameAttribute', '/groupMappings', '/tlsCa', '/startTls'];

interface MappingRow {
  key: number;
  group: string;
  role: Role | null;
  groupId: string | null;
}

let nextKey = 1;
const toRow = (m: GroupMapping): MappingRow => ({ key: nextKey++, group: m.group, role: m.role ?? null, groupId: m.groupId ?? null });

/** Create or edit an LDAP / AD domain. The bind password is write-only: empty keeps the stored one. */
export function DomainFormModal({ opened, domain, onClose }: { opened: boolean; domain: LdapDomain | null; onClose: () => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [startTls, setStartTls] = useState(false);
  const [tlsCa, setTlsCa] = useState('');
  const [bindDn, setBindDn] = useState('');
  const [bindPassword, setBindPassword] = useState('');
  const [removePassword, setRemovePassword] = useState(false);
  const [baseDn, setBaseDn] = useState('');
  const [userFilter, setUserFilter] = useState(DEFAULT_FILTER);
  const [usernameAttribute, setUsernameAttribute] = useState('uid');
  const [mappings, setMappings] = useState<MappingRow[]>([]);
  const [enabled, setEnabled] = useState(true);
  const [submitted, setSubmitted] = useState(false);
  const groups = useAll<UserGroup>('groups', { kind: 'permission' }, { enabled: opened });
  const test = useConnectionTest();

  const save = useApiMutation((body: Record<string, unknown>) => (domain ? api.patch<LdapDomain>(`/ldap-domains/${domain.id}`, body) : api.post<LdapDomain>('/ldap-domains', body)), ['ldap-domains']);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    test.reset();
    setSubmitted(false);
    setName(domain?.name ?? '');
    setUrl(domain?.url ?? '');
    setStartTls(domain?.startTls ?? false);
    setTlsCa(domain?.tlsCa ?? '');
    setBindDn(domain?.bindDn ?? '');
    setBindPassword('');
    setRemovePassword(false);
    setBaseDn(domain?.baseDn ?? '');
    setUserFilter(domain?.userFilter ?? DEFAULT_FILTER);
    setUsernameAttribute(domain?.usernameAttribute ?? 'uid');
    setMappings((domain?.groupMappings ?? []).map(toRow));
    setEnabled(domain?.enabled ?? true);
  }, [opened, domain]);

  const fe = fieldErrors(save.error);
  const ldaps = url.trim().startsWith('ldaps:');
  const problems = {
    name: !name.trim() ? 'Required' : undefined,
    url: !url.trim() ? 'Required' : !/^ldaps?:\/\/[^/\s]+\/?$/i.test(url.trim()) ? 'An ldap:// or ldaps:// URL, e.g. ldaps://dc1.plant.example:636' : undefined,
    baseDn: !baseDn.trim() ? 'Required' : !baseDn.includes('=') ? 'A DN such as dc=plant,dc=example' : undefined,
    userFilter: !userFilter.includes('{username}') ? 'Must contain {username}' : undefined,
    bindPassword: bindDn.trim() && !bindPassword && !(domain?.hasBindPassword && !removePassword) ? 'Required with a bind DN' : undefined,
    mappings: mappings.some((m) => !m.group.trim() || (!m.role && !m.groupId)) ? 'Each mapping needs a directory group and a role or a permission group' : undefined,
  };
  const invalid = Object.values(problems).some(Boolean);
  const show = (m: string | undefined) => (submitted ? m : undefined);
  const connectionChanged = !!domain && (url.trim() !== domain.url || bindDn.trim() !== domain.bindDn || startTls !== domain.startTls || (tlsCa.trim() || null) !== (domain.tlsCa?.trim() || null));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) return;
    const body: Record<string, unknown> = {
      name: name.trim(),
      url: url.trim(),
      startTls: ldaps ? false : startTls,
      tlsCa: tlsCa.trim() ? tlsCa.trim() : null,
      bindDn: bindDn.trim(),
      baseDn: baseDn.trim(),
      userFilter: userFilter.trim(),
      usernameAttribute: usernameAttribute.trim(),
      groupMappings: mappings.map((m) => ({ group: m.group.trim(), ...(m.role ? { role: m.role } : {}), ...(m.groupId ? { groupId: m.groupId } : {}) })),
      enabled,
    };
    if (bindPassword) body.bindPassword = bindPassword;
    else if (domain?.hasBindPassword && (removePassword || !bindDn.trim())) body.bindPassword = null;
    save.mutate(body, { onSuccess: onClose });
  };

  const setRow = (key: number, patch: Partial<MappingRow>) => setMappings((rows) => rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const groupOptions = (groups.data?.items ?? []).map((g) => ({ value: g.id, label: g.name }));

  return (
    <FormModal opened={opened} onClose={onClose} title={domain ? `Edit domain ${domain.name}` : 'New directory domain'} size="xl" testId="domain-form" onSubmit={submit} closeOnClickOutside={false}>
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={domain ? 'Domain not saved' : 'Domain not created'} />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <NameField description="Shown to administrators, e.g. “Plant AD”" value={name} onChange={setName} error={fe.get('/name') ?? show(problems.name)} testId="domain-name" />
        <Switch mt={{ base: 0, sm: 30 }} label="Enabled" description="Disabled domains are not used for sign-in" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} data-testid="domain-enabled" />
      </SimpleGrid>

      <Divider label="Server" labelPosition="left" />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="Server URL"
          description="ldaps:// (port 636) is recommended"
          placeholder="ldaps://dc1.plant.example:636"
          required
          spellCheck={false}
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
          error={fe.get('/url') ?? show(problems.url)}
          data-testid="domain-url"
        />
        <Switch
          mt={{ base: 0, sm: 30 }}
          label="StartTLS"
          description={ldaps ? 'Not used with ldaps:// (TLS from the start)' : 'Upgrade an ldap:// connection to TLS'}
          checked={!ldaps && startTls}
          disabled={ldaps}
          onChange={(e) => setStartTls(e.currentTarget.checked)}
          error={fe.get('/startTls')}
          data-testid="domain-start-tls"
        />
      </SimpleGrid>
      {!ldaps && !startTls && url.trim().startsWith('ldap:') && (
        <Alert color="orange" variant="light" icon={<IconAlert />} py="xs">
          Plain LDAP sends directory passwords unencrypted. Use ldaps:// or StartTLS.
        </Alert>
      )}
      <Textarea
        label="CA certificate (PEM)"
        description="Only when the directory's certificate is signed by a private CA. One or more -----BEGIN CERTIFICATE----- blocks."
        autosize
        minRows={2}
        maxRows={6}
        spellCheck={false}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 12 } }}
        value={tlsCa}
        onChange={(e) => setTlsCa(e.currentTarget.value)}
        error={fe.get('/tlsCa')}
        data-testid="domain-tls-ca"
      />

      <Divider label="Service account" labelPosition="left" />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="Bind DN"
          description="Read-only service account; empty for an anonymous search"
          placeholder="cn=portcullis,ou=services,dc=plant,dc=example"
          spellCheck={false}
          value={bindDn}
          onChange={(e) => setBindDn(e.currentTarget.value)}
          error={fe.get('/bindDn')}
          data-testid="domain-bind-dn"
        />
        <Stack gap={4}>
          <PasswordInput
            label="Bind password"
            description={domain?.hasBindPassword ? 'A password is stored (never shown). Leave empty to keep it.' : 'Stored encrypted; never shown again'}
            placeholder={domain?.hasBindPassword && !removePassword ? '•••••••• (stored)' : undefined}
            autoComplete="new-password"
            value={bindPassword}
            disabled={removePassword}
            onChange={(e) => setBindPassword(e.currentTarget.value)}
            error={fe.get('/bindPassword') ?? show(problems.bindPassword)}
            data-testid="domain-bind-password"
          />
          {domain?.hasBindPassword && (
            <Checkbox size="xs" label="Remove the stored password" checked={removePassword} onChange={(e) => setRemovePassword(e.currentTarget.checked)} data-testid="domain-remove-password" />
          )}
        </Stack>
      </SimpleGrid>
      {connectionChanged && domain?.hasBindPassword && !bindPassword && !removePassword && (
        <Text size="xs" c="orange">
          The server or account changed: enter the bind password again. A stored password is only sent to the server it was entered for.
        </Text>
      )}

      <Divider label="Users" labelPosition="left" />
      <TextInput label="Base DN" description="Where users are searched" placeholder="ou=people,dc=plant,dc=example" required spellCheck={false} value={baseDn} onChange={(e) => setBaseDn(e.currentTarget.value)} error={fe.get('/baseDn') ?? show(problems.baseDn)} data-testid="domain-base-dn" />
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <TextInput
          label="User filter"
          description="{username} is replaced by the (escaped) sign-in name. AD: (&(objectClass=user)(sAMAccountName={username}))"
          spellCheck={false}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 } }}
          value={userFilter}
          onChange={(e) => setUserFilter(e.currentTarget.value)}
          error={fe.get('/userFilter') ?? show(problems.userFilter)}
          style={{ gridColumn: 'span 2' }}
          data-testid="domain-user-filter"
        />
        <TextInput label="Username attribute" description="uid, or sAMAccountName for AD" spellCheck={false} value={usernameAttribute} onChange={(e) => setUsernameAttribute(e.currentTarget.value)} error={fe.get('/usernameAttribute')} data-testid="domain-username-attribute" />
      </SimpleGrid>

      <Divider label="Group mappings" labelPosition="left" />
      <Text size="xs" c="dimmed" mt={-8}>
        Directory groups (DN or CN) give their members a Portcullis role and/or membership in a permission group, at every sign-in.
      </Text>
      <Stack gap="xs" data-testid="domain-mappings">
        {mappings.map((m, i) => (
          <Group key={m.key} gap="xs" align="flex-start" wrap="nowrap" data-testid="domain-mapping-row">
            <TextInput
              placeholder="cn=ot-engineers,ou=groups,dc=plant,dc=example"
              aria-label={`Directory group of mapping ${i + 1}`}
              spellCheck={false}
              value={m.group}
              onChange={(e) => setRow(m.key, { group: e.currentTarget.value })}
              error={fe.get(`/groupMappings/${i}/group`) ?? (submitted && !m.group.trim() ? 'Required' : undefined)}
              style={{ flex: 2 }}
              data-testid={`domain-mapping-group-${i}`}
            />
            <Select
              placeholder="Role (optional)"
              aria-label={`Role of mapping ${i + 1}`}
              clearable
              data={[...ROLES]}
              value={m.role}
              onChange={(v) => setRow(m.key, { role: (v as Role | null) ?? null })}
              error={fe.get(`/groupMappings/${i}/role`)}
              style={{ flex: 1 }}
              data-testid={`domain-mapping-role-${i}`}
            />
            <Select
              placeholder="Permission group (optional)"
              aria-label={`Permission group of mapping ${i + 1}`}
              clearable
              searchable
              data={groupOptions}
              value={m.groupId}
              onChange={(v) => setRow(m.key, { groupId: v })}
              error={fe.get(`/groupMappings/${i}/groupId`) ?? fe.get(`/groupMappings/${i}`) ?? (submitted && !m.role && !m.groupId ? 'A role or a group' : undefined)}
              nothingFoundMessage="No permission group"
              style={{ flex: 1.4 }}
              data-testid={`domain-mapping-group-id-${i}`}
            />
            <Tooltip label="Remove mapping" withArrow>
              <ActionIcon variant="subtle" color="red" mt={6} aria-label={`Remove mapping ${i + 1}`} onClick={() => setMappings((rows) => rows.filter((r) => r.key !== m.key))}>
                <IconTrash size={16} />
              </ActionIcon>
            </Tooltip>
          </Group>
        ))}
        <Button
          variant="subtle"
          size="xs"
          leftSection={<IconPlus size={14} />}
          onClick={() => setMappings((rows) => [...rows, { key: nextKey++, group: '', role: null, groupId: null }])}
          style={{ alignSelf: 'flex-start' }}
          data-testid="domain-add-mapping"
        >
          Add mapping
        </Button>
      </Stack>

      {domain && (
        <>
          <Divider />
          <Group justify="space-between" align="center">
            <Text size="xs" c="dimmed">
              Test connection uses the saved settings: save changes first to test them.
            </Text>
            <Button variant="default" leftSection={<IconPlug size={16} />} onClick={() => test.mutate(domain)} loading={test.isPending} data-testid="domain-form-test">
              Test connection
            </Button>
          </Group>
          <ConnectionTestResult test={test} />
        </>
      )}
      <FormFooter onCancel={onClose} submitLabel={domain ? 'Save changes' : 'Create domain'} submitTestId="domain-save" saving={save.isPending} feedback={{ error: save.error, invalid: submitted && invalid }} />
    </FormModal>
  );
}
