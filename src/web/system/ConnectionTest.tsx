import { Alert, Group, Loader, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { api } from '../api/client';
import type { ConnectionTest, LdapDomain } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { IconAlert, IconCheck } from '../common/icons';

/** "Test connection": service bind and a count of the users under the base DN (saved settings). */
export function useConnectionTest() {
  return useMutation({ mutationFn: (d: LdapDomain) => api.post<ConnectionTest>(`/ldap-domains/${d.id}/test`) });
}

export function ConnectionTestResult({ test }: { test: ReturnType<typeof useConnectionTest> }) {
  if (test.isIdle) return null;
  if (test.isPending)
    return (
      <Group gap="xs">
        <Loader size="xs" />
        <Text size="sm" c="dimmed">
          Connecting to the directory…
        </Text>
      </Group>
    );
  if (test.isError) return <ProblemAlert error={test.error} title="Test not run" />;
  const r = test.data;
  return (
    <Alert
      color={r.ok ? 'teal' : 'red'}
      variant="light"
      icon={r.ok ? <IconCheck /> : <IconAlert />}
      title={r.ok ? `Connection works${r.usersFound !== undefined ? `: ${r.usersFound} user${r.usersFound === 1 ? '' : 's'} found` : ''}` : 'Connection failed'}
      data-testid="domain-test-result"
      data-ok={r.ok ? 'true' : 'false'}
    >
      <Text size="sm" style={{ wordBreak: 'break-word' }}>
        {r.message}
      </Text>
    </Alert>
  );
}
