import { Alert, PasswordInput, SegmentedControl, SimpleGrid, Switch, Text, Textarea, TextInput } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { AccountInput, AccountUpdate, AssetAccount } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { FormFooter, FormModal } from '../common/forms';
import { IconLock } from '../common/icons';

type Kind = AssetAccount['kind'];
const INLINE = ['/name', '/username', '/password', '/privateKey', '/passphrase'];

interface Props {
  opened: boolean;
  assetId: string;
  assetName: string;
  /** null: a new account. */
  account: AssetAccount | null;
  /** Suggested name for a new account ("default" for the first one). */
  suggestedName: string;
  onClose: () => void;
}

/**
 * Adds an account to the vault, or renames / replaces the secret of one. Secrets are write-only:
 * never shown, never prefilled; leaving "Replace the secret" off keeps the current one.
 */
export function AccountFormModal({ opened, assetId, assetName, account, suggestedName, onClose }: Props) {
  const [name, setName] = useState('');
  const [username, setUsername] = useState('');
  const [kind, setKind] = useState<Kind>('password');
  const [replace, setReplace] = useState(false);
  const [password, setPassword] = useState('');
  const [privateKey, setPrivateKey] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [submitted, setSubmitted] = useState(false);

  const save = useApiMutation(
    (body: AccountInput | AccountUpdate) =>
      account ? api.patch<AssetAccount>(`/assets/${assetId}/accounts/${account.id}`, body) : api.post<AssetAccount>(`/assets/${assetId}/accounts`, body),
    ['vault'],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setSubmitted(false);
    setName(account?.name ?? suggestedName);
    setUsername(account?.username ?? '');
    setKind(account?.kind ?? 'password');
    setReplace(!account);
    setPassword('');
    setPrivateKey('');
    setPassphrase('');
  }, [opened, account]);

  const secretNeeded = !account || replace;
  const problems = {
    name: !name.trim() ? 'Required' : undefined,
    username: !username ? 'Required' : undefined,
    password: secretNeeded && kind === 'password' && !password ? 'Required' : undefined,
    privateKey:
      secretNeeded && kind === 'ssh_key'
        ? !privateKey.trim()
          ? 'Required'
          : !/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(privateKey)
            ? 'Paste the whole key, from -----BEGIN … PRIVATE KEY----- to the END line'
            : undefined
        : undefined,
  };
  const invalid = Object.values(problems).some(Boolean);
  const show = (m: string | undefined) => (submitted ? m : undefined);
  const fe = fieldErrors(save.error);

  function body(): AccountInput | AccountUpdate {
    const key = privateKey.trim() ? `${privateKey.trim()}\n` : '';
    if (!account) {
      return kind === 'password'
        ? { name: name.trim(), username, kind, password }
        : { name: name.trim(), username, kind, privateKey: key, ...(passphrase ? { passphrase } : {}) };
    }
    const patch: AccountUpdate = {};
    if (name.trim() !== account.name) patch.name = name.trim();
    if (username !== account.username) patch.username = username;
    if (replace) {
      if (account.kind === 'password') patch.password = password;
      else {
        patch.privateKey = key;
        // A new key comes with its own passphrase (or none).
        patch.passphrase = passphrase || null;
      }
    }
    return patch;
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) return;
    save.mutate(body(), { onSuccess: onClose });
  }

  return (
    <FormModal
      opened={opened}
      onClose={onClose}
      title={account ? `Account ${account.name} of ${assetName}` : `New account for ${assetName}`}
      size="lg"
      closeOnClickOutside={false}
      testId="account-form"
      onSubmit={submit}
      gap="sm"
    >
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={account ? 'Account not saved' : 'Account not added'} />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="Name"
          description='How admins tell accounts apart; "default" is used when a user does not choose'
          required
          data-autofocus
          maxLength={64}
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={fe.get('/name') ?? show(problems.name)}
          data-testid="account-name"
        />
        <TextInput
          label="Username on the asset"
          description="The login the gateway uses"
          required
          maxLength={256}
          spellCheck={false}
          autoComplete="off"
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          error={fe.get('/username') ?? show(problems.username)}
          data-testid="account-username"
        />
      </SimpleGrid>
      {!account ? (
        <div>
          <Text size="sm" fw={500} mb={4}>
            Credential
          </Text>
          <SegmentedControl
            value={kind}
            onChange={(v) => setKind(v as Kind)}
            data={[
              { value: 'password', label: 'Password' },
              { value: 'ssh_key', label: 'SSH private key' },
            ]}
            data-testid="account-kind"
          />
        </div>
      ) : (
        <Switch
          label={account.kind === 'password' ? 'Replace the password' : 'Replace the private key'}
          description={`The current secret stays unless you replace it (set, changed ${new Date(account.secretChangedAt).toLocaleString()}).`}
          checked={replace}
          onChange={(e) => setReplace(e.currentTarget.checked)}
          data-testid="account-replace-secret"
        />
      )}
      {secretNeeded && kind === 'password' && (
        <PasswordInput
          label={account ? 'New password' : 'Password'}
          required
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
          error={fe.get('/password') ?? show(problems.password)}
          data-testid="account-password"
        />
      )}
      {secretNeeded && kind === 'ssh_key' && (
        <>
          <Textarea
            label={account ? 'New private key' : 'Private key'}
            description="OpenSSH or PEM format"
            required
            autosize
            minRows={4}
            maxRows={10}
            spellCheck={false}
            autoComplete="off"
            placeholder={'-----BEGIN OPENSSH PRIVATE KEY-----\n…\n-----END OPENSSH PRIVATE KEY-----'}
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 12 } }}
            value={privateKey}
            onChange={(e) => setPrivateKey(e.currentTarget.value)}
            error={fe.get('/privateKey') ?? show(problems.privateKey)}
            data-testid="account-private-key"
          />
          <PasswordInput
            label="Passphrase"
            description="Only if the key is encrypted"
            autoComplete="off"
            value={passphrase}
            onChange={(e) => setPassphrase(e.currentTarget.value)}
            error={fe.get('/passphrase')}
            data-testid="account-passphrase"
          />
        </>
      )}
      <Alert color="gray" variant="light" icon={<IconLock size={16} />} p="xs">
        <Text size="xs">Secrets are encrypted in the vault and never shown again, not even to administrators. Users never see them.</Text>
      </Alert>
      <FormFooter
        feedback={{ error: save.error, invalid: submitted && invalid }}
        onCancel={onClose}
        saving={save.isPending}
        submitTestId="account-save"
        submitLabel={account ? 'Save' : 'Add account'}
      />
    </FormModal>
  );
}
