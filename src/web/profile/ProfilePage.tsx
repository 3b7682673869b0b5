import { Alert, Badge, Button, Divider, Group, Modal, SimpleGrid, Skeleton, Stack, Table, Text, TextInput, ThemeIcon } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ComponentType, type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { ApiError, api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import { type EnrollmentResult, type MyProfile, ROLE_COLOR, type SessionInfo, type WebauthnKey } from '../api/types';
import { useMe } from '../auth/AuthProvider';
import { ChangePasswordForm } from '../auth/ChangePasswordForm';
import { webauthnSupported } from '../auth/webauthn';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { FormFooter, FormModal } from '../common/forms';
import { formatDate, formatDateTime } from '../common/format';
import { IconAlert, IconDeviceMobile, IconKey, type IconProps, IconPlus, IconRefresh, IconUsbKey } from '../common/icons';
import { SessionsTable } from '../common/sessions';
import { DataTable, DeleteAction, EditAction, RowActions } from '../common/table';
import { ConfirmModal, PageHeader, Section } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { RecoveryCodes } from './RecoveryCodes';
import { SecurityKeySetup } from './SecurityKeySetup';
import { TotpSetup } from './TotpSetup';

const useProfile = () => useQuery({ queryKey: ['me', 'profile'], queryFn: ({ signal }) => api.get<MyProfile>('/me', undefined, signal) });

/** Security keys are listed by the WebAuthn module; an older gateway answers 404 (not offered). */
const useKeys = () =>
  useQuery({
    queryKey: ['me', 'webauthn-keys'],
    queryFn: async ({ signal }) => (await api.get<{ items: WebauthnKey[] }>('/me/mfa/webauthn/keys', undefined, signal)).items,
  });

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" component="div" mt={2}>
        {children}
      </Text>
    </div>
  );
}

/** My profile: account, password, second factors (app, security keys, recovery codes), my sessions. */
export function ProfilePage() {
  const me = useMe();
  const profile = useProfile();
  const [pwOpen, setPwOpen] = useState(false);
  const p = profile.data;
  const u = p?.user;

  return (
    <Stack gap="lg" maw={1080}>
      <PageHeader title="My profile" description="Your account, how you prove it is you, and where you are signed in." />
      {profile.error ? <ProblemAlert error={profile.error} title="Could not load your profile" /> : null}

      <Section
        title="Account"
        testId="profile-account"
        actions={
          u?.type !== 'ldap' && (
            <Button variant="default" leftSection={<IconKey size={16} />} onClick={() => setPwOpen(true)} data-testid="profile-change-password">
              Change password
            </Button>
          )
        }
      >
        {!u ? (
          <Skeleton h={60} />
        ) : (
          <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="lg">
            <Field label="Username">
              <span className="pc-mono" data-testid="profile-username">
                {u.username}
              </span>
            </Field>
            <Field label="Name">{u.displayName || '—'}</Field>
            <Field label="Email">{u.email || '—'}</Field>
            <Field label="Role">
              <Badge variant="light" color={ROLE_COLOR[u.role]} tt="none">
                {u.role}
              </Badge>
            </Field>
            <Field label="Account type">{u.type === 'ldap' ? 'Directory (LDAP): password managed in the directory' : 'Local'}</Field>
            <Field label="Affiliation">{u.affiliation === 'vendor' ? `Vendor${u.vendorName ? `: ${u.vendorName}` : ''}` : 'Employee'}</Field>
            <Field label="Account expires">{u.expiresAt ? formatDate(u.expiresAt) : 'never'}</Field>
            <Field label="Last sign-in">{formatDateTime(u.lastLoginAt)}</Field>
          </SimpleGrid>
        )}
      </Section>

      <SecondFactors profile={p} username={me.username} />
      <MySessions />

      <Modal opened={pwOpen} onClose={() => setPwOpen(false)} title={<Text fw={600}>Change password</Text>} centered>
        <ChangePasswordForm onDone={() => setPwOpen(false)} />
      </Modal>
    </Stack>
  );
}

interface FactorRowProps {
  icon: ComponentType<IconProps>;
  /** Of the icon and the status badge: teal when in place, orange when running low, gray when not. */
  color: string;
  title: string;
  status: string;
  statusTestId: string;
  /** data-count of the status badge, where it counts something. */
  statusCount?: number;
  description: string;
  /** The factor's actions, on the right. */
  children: ReactNode;
}

/** One kind of second factor: icon, name and status badge, what it is, and its actions. */
function FactorRow({ icon: Icon, color, title, status, statusTestId, statusCount, description, children }: FactorRowProps) {
  return (
    <Group justify="space-between" wrap="nowrap" align="flex-start">
      <Group gap="sm" wrap="nowrap" align="flex-start">
        <ThemeIcon variant="light" size={38} radius="md" color={color}>
          <Icon size={20} />
        </ThemeIcon>
        <div>
          <Group gap={6}>
            <Text fw={600} size="sm">
              {title}
            </Text>
            <Badge size="sm" variant="dot" color={color} data-testid={statusTestId} data-count={statusCount}>
              {status}
            </Badge>
          </Group>
          <Text size="sm" c="dimmed">
            {description}
          </Text>
        </div>
      </Group>
      {children}
    </Group>
  );
}

type Dialog = { kind: 'totp'; replacing: boolean } | { kind: 'key' } | { kind: 'codes'; codes: string[] } | null;

function SecondFactors({ profile, username }: { profile: MyProfile | undefined; username: string }) {
  const qc = useQueryClient();
  const keys = useKeys();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [confirm, setConfirm] = useState<'remove-totp' | 'regenerate' | null>(null);
  const [renaming, setRenaming] = useState<WebauthnKey | null>(null);

  const refresh = () => qc.invalidateQueries({ queryKey: ['me'] });
  const removeTotp = useApiMutation(() => api.delete('/me/mfa/totp'), ['me']);
  const regenerate = useApiMutation(() => api.post<{ recoveryCodes: string[] }>('/me/mfa/recovery-codes'), ['me']);
  const removeKey = useApiMutation((k: WebauthnKey) => api.delete(`/me/mfa/webauthn/keys/${encodeURIComponent(k.id)}`), ['me']);
  const delKey = useConfirmDelete(removeKey);

  const mfa = profile?.mfa;
  const keysUnavailable = keys.error instanceof ApiError && (keys.error.status === 404 || keys.error.status === 405);
  const keyList = keys.data ?? [];
  const hasFactor = !!mfa && (mfa.totp || mfa.webauthnKeys > 0);

  const afterEnroll = (r: EnrollmentResult) => {
    void refresh();
    if (r.recoveryCodes?.length) setDialog({ kind: 'codes', codes: r.recoveryCodes });
    else setDialog(null);
  };

  const onConfirm = () => {
    if (confirm === 'remove-totp') removeTotp.mutate(undefined, { onSuccess: () => setConfirm(null) });
    else if (confirm === 'regenerate')
      regenerate.mutate(undefined, {
        onSuccess: (r) => {
          setConfirm(null);
          setDialog({ kind: 'codes', codes: r.recoveryCodes });
        },
      });
  };

  return (
    <Section
      title={
        <Group gap="xs">
          Two-factor authentication
          {profile &&
            (profile.secondFactorRequired ? (
              <Badge variant="light" color="orange" data-testid="profile-mfa-required">
                Required for your account
              </Badge>
            ) : hasFactor ? (
              <Badge variant="light" color="teal">
                On
              </Badge>
            ) : (
              <Badge variant="light" color="gray">
                Off
              </Badge>
            ))}
        </Group>
      }
      description="A second proof at every sign-in: a code from an authenticator app or a FIDO2 security key. Recovery codes are the way back in when neither is at hand."
      testId="profile-mfa"
    >
      {!mfa ? (
        <Skeleton h={160} />
      ) : (
        <Stack gap="md">
          {profile.secondFactorRequired && !hasFactor && (
            <Alert color="orange" variant="light" icon={<IconAlert />}>
              Your account requires a second factor. Set one up now, or you will be asked to at your next sign-in.
            </Alert>
          )}

          <FactorRow
            icon={IconDeviceMobile}
            color={mfa.totp ? 'teal' : 'gray'}
            title="Authenticator app"
            status={mfa.totp ? 'Enrolled' : 'Not set up'}
            statusTestId="profile-totp-status"
            description="Six-digit codes that change every 30 seconds (TOTP)."
          >
            <Group gap="xs" wrap="nowrap">
              {mfa.totp ? (
                <>
                  <Button variant="default" size="xs" leftSection={<IconRefresh size={14} />} onClick={() => setDialog({ kind: 'totp', replacing: true })} data-testid="profile-totp-reenroll">
                    Re-enroll
                  </Button>
                  <Button
                    variant="subtle"
                    color="red"
                    size="xs"
                    onClick={() => {
                      removeTotp.reset();
                      setConfirm('remove-totp');
                    }}
                    data-testid="profile-totp-remove"
                  >
                    Remove
                  </Button>
                </>
              ) : (
                <Button size="xs" onClick={() => setDialog({ kind: 'totp', replacing: false })} data-testid="profile-totp-enroll">
                  Set up
                </Button>
              )}
            </Group>
          </FactorRow>

          <Divider />

          <Stack gap="xs">
            <FactorRow
              icon={IconUsbKey}
              color={mfa.webauthnKeys > 0 ? 'teal' : 'gray'}
              title="Security keys"
              status={mfa.webauthnKeys === 0 ? 'None' : `${mfa.webauthnKeys} registered`}
              statusTestId="profile-webauthn-count"
              description="FIDO2 / WebAuthn keys and passkeys. Phishing-resistant: the best choice for remote access."
            >
              <Button
                size="xs"
                variant="default"
                leftSection={<IconPlus size={14} />}
                disabled={keysUnavailable || !webauthnSupported()}
                onClick={() => setDialog({ kind: 'key' })}
                data-testid="profile-webauthn-add"
              >
                Add security key
              </Button>
            </FactorRow>
            {keysUnavailable ? (
              <Text size="sm" c="dimmed" ml={50}>
                Security keys are not available on this gateway yet.
              </Text>
            ) : keyList.length > 0 || keys.isPending || keys.error ? (
              <DataTable
                testId="webauthn-keys-table"
                minWidth={520}
                style={{ marginLeft: 50 }}
                head={
                  <>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Added</Table.Th>
                    <Table.Th>Last used</Table.Th>
                    <Table.Th w={90} />
                  </>
                }
                status={{ colSpan: 4, loading: keys.isPending, error: keys.error, empty: keyList.length === 0, emptyText: 'No security keys.' }}
              >
                {keyList.map((k) => (
                  <Table.Tr key={k.id} data-testid="webauthn-key-row" data-key-name={k.name}>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {k.name}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDate(k.createdAt)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" c="dimmed">
                        {k.lastUsedAt ? formatDateTime(k.lastUsedAt) : 'never'}
                      </Text>
                    </Table.Td>
                    <RowActions>
                      <EditAction label={`Rename ${k.name}`} onClick={() => setRenaming(k)} testId="webauthn-key-rename" />
                      <DeleteAction label={`Remove ${k.name}`} onClick={() => delKey.ask(k)} testId="webauthn-key-delete" />
                    </RowActions>
                  </Table.Tr>
                ))}
              </DataTable>
            ) : null}
          </Stack>

          <Divider />

          <FactorRow
            icon={IconKey}
            color={mfa.recoveryCodesLeft > 3 ? 'teal' : mfa.recoveryCodesLeft > 0 ? 'orange' : 'gray'}
            title="Recovery codes"
            status={`${mfa.recoveryCodesLeft} left`}
            statusTestId="profile-recovery-left"
            statusCount={mfa.recoveryCodesLeft}
            description="Single-use codes for when your app or key is lost. New codes replace all old ones."
          >
            <Button
              size="xs"
              variant="default"
              disabled={!hasFactor}
              onClick={() => {
                regenerate.reset();
                setConfirm('regenerate');
              }}
              data-testid="profile-recovery-regenerate"
            >
              Generate new codes
            </Button>
          </FactorRow>
        </Stack>
      )}

      <Modal
        opened={dialog !== null}
        onClose={() => setDialog(null)}
        title={<Text fw={600}>{dialog?.kind === 'totp' ? 'Set up an authenticator app' : dialog?.kind === 'key' ? 'Add a security key' : 'Your new recovery codes'}</Text>}
        size={dialog?.kind === 'totp' ? 'lg' : 'md'}
        centered
        closeOnClickOutside={false}
        withCloseButton={dialog?.kind !== 'codes'}
        closeOnEscape={dialog?.kind !== 'codes'}
      >
        {dialog?.kind === 'totp' && <TotpSetup replacing={dialog.replacing} onConfirmed={afterEnroll} onCancel={() => setDialog(null)} />}
        {dialog?.kind === 'key' && <SecurityKeySetup onRegistered={afterEnroll} onCancel={() => setDialog(null)} />}
        {dialog?.kind === 'codes' && <RecoveryCodes codes={dialog.codes} username={username} onDone={() => setDialog(null)} doneLabel="Done" />}
      </Modal>

      <ConfirmModal
        opened={confirm !== null}
        title={confirm === 'remove-totp' ? 'Remove authenticator app' : 'Generate new recovery codes'}
        confirmLabel={confirm === 'remove-totp' ? 'Remove app' : 'Generate new codes'}
        danger={confirm === 'remove-totp'}
        loading={removeTotp.isPending || regenerate.isPending}
        error={confirm === 'remove-totp' ? removeTotp.error : regenerate.error}
        onClose={() => setConfirm(null)}
        onConfirm={onConfirm}
      >
        <Text size="sm">
          {confirm === 'remove-totp'
            ? 'Codes from your authenticator app will no longer be accepted. If your account requires a second factor, keep a security key or set up a new app first.'
            : 'Your current recovery codes stop working at once. The new ones are shown once.'}
        </Text>
      </ConfirmModal>
      <ConfirmModal {...delKey.modal} title="Remove security key" confirmLabel="Remove key">
        <Text size="sm">
          Remove <b>{delKey.target?.name}</b>? It can no longer be used to sign in.
        </Text>
      </ConfirmModal>
      <RenameKeyModal keyToRename={renaming} onClose={() => setRenaming(null)} />
    </Section>
  );
}

function RenameKeyModal({ keyToRename, onClose }: { keyToRename: WebauthnKey | null; onClose: () => void }) {
  const [name, setName] = useState('');
  const rename = useApiMutation((v: { id: string; name: string }) => api.patch(`/me/mfa/webauthn/keys/${encodeURIComponent(v.id)}`, { name: v.name }), ['me']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when another key is chosen
  useEffect(() => {
    if (!keyToRename) return;
    rename.reset();
    setName(keyToRename.name);
  }, [keyToRename]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!keyToRename || !name.trim()) return;
    rename.mutate({ id: keyToRename.id, name: name.trim() }, { onSuccess: onClose });
  };
  return (
    <FormModal opened={keyToRename !== null} onClose={onClose} title="Rename security key" size="sm" testId="webauthn-rename-form" onSubmit={submit}>
      <ProblemAlert error={rename.error} inlinePaths={['/name']} title="Not renamed" />
      <TextInput label="Name" required data-autofocus maxLength={64} value={name} onChange={(e) => setName(e.currentTarget.value)} error={fieldErrors(rename.error).get('/name')} data-testid="webauthn-rename-name" />
      <FormFooter onCancel={onClose} submitLabel="Rename" submitTestId="webauthn-rename-save" saving={rename.isPending} disabled={!name.trim()} />
    </FormModal>
  );
}

function MySessions() {
  const sessions = useQuery({ queryKey: ['me', 'sessions'], queryFn: ({ signal }) => api.get<{ items: SessionInfo[] }>('/me/sessions', undefined, signal) });
  const end = useApiMutation((s: SessionInfo) => api.delete(`/me/sessions/${s.id}`), ['me']);
  const del = useConfirmDelete(end);
  const items = sessions.data?.items ?? [];
  return (
    <Section title="Where you are signed in" description="Console sessions of your account. Sign out the ones you do not recognize, then change your password." testId="profile-sessions">
      <SessionsTable items={items} loading={sessions.isPending} error={sessions.error} onEnd={del.ask} testId="my-sessions-table" />
      <ConfirmModal {...del.modal} title="Sign out session" confirmLabel="Sign out">
        <Text size="sm">
          End the session from <b>{describe(del.target)}</b>? That browser has to sign in again.
        </Text>
      </ConfirmModal>
    </Section>
  );
}

const describe = (s: SessionInfo | null) => (s ? `${s.sourceIp ?? 'an unknown address'}, signed in ${formatDateTime(s.createdAt)}` : '');
