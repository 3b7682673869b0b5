import { Anchor, Button, Group, Input, SegmentedControl, Select, SimpleGrid, Stack, Switch, Text, TextInput } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client';
import { useApiMutation, useVendors } from '../api/hooks';
import { type Affiliation, ROLES, type Role, type User, type CreatedUser, type UserInput, type Vendor } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { FormFooter, FormModal } from '../common/forms';
import { toDateInput } from '../common/format';

export const ROLE_HELP: Record<Role, string> = {
  Administrator: 'Manages sites, assets, users and policies',
  Operator: 'Approves, watches and terminates sessions',
  Client: 'Opens sessions to the assets granted to them',
};
const ROLE_OPTIONS = ROLES.map((r) => ({ value: r, label: `${r} – ${ROLE_HELP[r]}` }));
const INLINE = ['/username', '/displayName', '/email', '/role', '/affiliation', '/vendorId', '/expiresAt', '/otpRequired'];
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

interface Props {
  opened: boolean;
  user: User | null;
  onClose: () => void;
  onCreated?: (result: CreatedUser) => void;
}

export function UserFormModal({ opened, user, onClose, onCreated }: Props) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('Client');
  const [affiliation, setAffiliation] = useState<Affiliation>('employee');
  const [vendorId, setVendorId] = useState<string | null>(null);
  const [expiresAt, setExpiresAt] = useState('');
  const [otpRequired, setOtpRequired] = useState(true);
  const [submitted, setSubmitted] = useState(false);
  const vendors = useVendors(opened);

  const save = useApiMutation(
    (body: UserInput): Promise<CreatedUser> =>
      user ? api.patch<User>(`/users/${user.id}`, body).then((u) => ({ user: u })) : api.post<CreatedUser>('/users', body),
    ['users'],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setSubmitted(false);
    setUsername(user?.username ?? '');
    setDisplayName(user?.displayName ?? '');
    setEmail(user?.email ?? '');
    setRole(user?.role ?? 'Client');
    setAffiliation(user?.affiliation ?? 'employee');
    setVendorId(user?.vendorId ?? null);
    setExpiresAt(toDateInput(user?.expiresAt));
    setOtpRequired(user?.otpRequired ?? true);
  }, [opened, user]);

  const fe = fieldErrors(save.error);
  const today = new Date().toISOString().slice(0, 10);
  const problems = {
    username: user ? undefined : !username.trim() ? 'Required' : !USERNAME.test(username.trim()) ? 'Letters, digits and . _ @ - (max 64)' : undefined,
    email: email.trim() && !/^[^\s@]+@[^\s@]+$/.test(email.trim()) ? 'Not an email address' : undefined,
    vendor: affiliation === 'vendor' && !vendorId ? 'Choose the vendor this person works for' : undefined,
    expires: expiresAt && expiresAt < today && expiresAt !== toDateInput(user?.expiresAt) ? 'The date is in the past' : undefined,
  };
  const invalid = Object.values(problems).some(Boolean);
  const show = (m: string | undefined) => (submitted ? m : undefined);

  function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) return;
    const body: UserInput = {
      displayName: displayName.trim(),
      email: email.trim(),
      role,
      affiliation,
      otpRequired,
    };
    if (!user) body.username = username.trim();
    if (affiliation === 'vendor') body.vendorId = vendorId;
    else if (user?.vendorId) body.vendorId = null;
    if (expiresAt) body.expiresAt = expiresAt;
    else if (user?.expiresAt) body.expiresAt = null;
    save.mutate(body, {
      onSuccess: (res) => {
        onCreated?.(res);
        onClose();
      },
    });
  }

  const vendorOptions = (vendors.data?.items ?? []).map((v) => ({ value: v.id, label: v.name }));
  const ldap = user?.type === 'ldap';

  return (
    <FormModal opened={opened} onClose={onClose} title={user ? `Edit user ${user.username}` : 'New user'} size="lg" testId="user-form" onSubmit={submit}>
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={user ? 'User not saved' : 'User not created'} />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="Username"
          required={!user}
          disabled={!!user}
          data-autofocus
          autoComplete="off"
          spellCheck={false}
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          error={fe.get('/username') ?? show(problems.username)}
          maxLength={64}
          data-testid="user-username"
        />
        <TextInput
          label="Display name"
          value={displayName}
          onChange={(e) => setDisplayName(e.currentTarget.value)}
          error={fe.get('/displayName')}
          disabled={ldap}
          maxLength={128}
          data-testid="user-display-name"
        />
      </SimpleGrid>
      <TextInput
        label="Email"
        type="email"
        description="For approval requests and notifications"
        value={email}
        onChange={(e) => setEmail(e.currentTarget.value)}
        error={fe.get('/email') ?? show(problems.email)}
        disabled={ldap}
        data-testid="user-email"
      />
      <Select
        label="Role"
        required
        allowDeselect={false}
        data={ROLE_OPTIONS}
        value={role}
        onChange={(v) => v && setRole(v as Role)}
        error={fe.get('/role')}
        data-testid="user-role"
      />
      <Input.Wrapper label="Affiliation" error={fe.get('/affiliation')}>
        <SegmentedControl
          mt={4}
          fullWidth
          value={affiliation}
          onChange={(v) => setAffiliation(v as Affiliation)}
          data={[
            { value: 'employee', label: 'Employee' },
            { value: 'vendor', label: 'Vendor / contractor' },
          ]}
          aria-label="Affiliation"
          data-testid="user-affiliation"
        />
      </Input.Wrapper>
      {affiliation === 'vendor' && (
        <Stack gap={4}>
        <Select
          label="Vendor"
          required
          searchable
          data={vendorOptions}
          value={vendorId}
          onChange={setVendorId}
          placeholder={vendors.isPending ? 'Loading…' : vendorOptions.length ? 'Choose a vendor' : 'No vendors defined yet'}
          nothingFoundMessage="No such vendor"
          error={fe.get('/vendorId') ?? show(problems.vendor)}
          data-testid="user-vendor"
        />
        <NewVendor onCreated={(v) => setVendorId(v.id)} />
        </Stack>
      )}
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          type="date"
          label="Account expires"
          description={affiliation === 'vendor' ? 'Recommended for vendor accounts' : 'Leave empty for no expiry'}
          min={today}
          value={expiresAt}
          onChange={(e) => setExpiresAt(e.currentTarget.value)}
          error={fe.get('/expiresAt') ?? show(problems.expires)}
          data-testid="user-expires"
        />
        <Switch
          mt={{ base: 0, sm: 30 }}
          label="Require a second factor"
          description="Authenticator app or security key at every sign-in"
          checked={otpRequired}
          onChange={(e) => setOtpRequired(e.currentTarget.checked)}
          data-testid="user-otp-required"
        />
      </SimpleGrid>
      {!user && (
        <Text size="xs" c="dimmed">
          A one-time password is generated and shown once after creation. The user must change it at first sign-in.
        </Text>
      )}
      <FormFooter
        feedback={{ error: save.error, invalid: submitted && invalid }}
        onCancel={onClose}
        saving={save.isPending}
        submitTestId="user-save"
        submitLabel={user ? 'Save changes' : 'Create user'}
      />
    </FormModal>
  );
}

/** Inline "new vendor company" for the vendor select (name only; details via the API). */
function NewVendor({ onCreated }: { onCreated: (v: Vendor) => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const create = useApiMutation((n: string) => api.post<Vendor>('/vendors', { name: n }), ['vendors']);
  if (!open)
    return (
      <Anchor component="button" type="button" size="xs" onClick={() => setOpen(true)} style={{ alignSelf: 'flex-start' }} data-testid="new-vendor">
        + New vendor company
      </Anchor>
    );
  const submit = () => {
    if (!name.trim()) return;
    create.mutate(name.trim(), {
      onSuccess: (v) => {
        onCreated(v);
        setName('');
        setOpen(false);
      },
    });
  };
  return (
    <Group gap="xs" align="flex-start" wrap="nowrap">
      <TextInput
        size="xs"
        placeholder="Vendor company name"
        aria-label="Vendor company name"
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            submit();
          }
        }}
        error={create.error ? (fieldErrors(create.error).get('/name') ?? errorMessage(create.error)) : undefined}
        style={{ flex: 1 }}
        data-testid="new-vendor-name"
      />
      <Button size="xs" onClick={submit} loading={create.isPending} disabled={!name.trim()}>
        Add
      </Button>
      <Button size="xs" variant="subtle" color="gray" onClick={() => setOpen(false)}>
        Cancel
      </Button>
    </Group>
  );
}
