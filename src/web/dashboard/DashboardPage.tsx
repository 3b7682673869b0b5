import { Alert, Anchor, Card, Group, List, SimpleGrid, Skeleton, Text, ThemeIcon } from '@mantine/core';
import type { ComponentType } from 'react';
import { Link } from 'react-router-dom';
import { errorMessage } from '../api/client';
import { useCount } from '../api/hooks';
import { useIsAdmin, useIsStaff, useMe } from '../auth/AuthProvider';
import { MyAssets } from './MyAssets';
import { IconAlert, IconCheck, IconFactory, IconServer, IconShield, IconUpload, IconUsers } from '../common/icons';
import { useInboxCount } from '../requests/api';
import { PageHeader } from '../common/ui';
import { ReviewQueuePanel, WaitingSessionsPanel } from '../sessions/gates';

interface StatProps {
  label: string;
  hint: string;
  to: string;
  icon: ComponentType<{ size?: number }>;
  color: string;
  count: ReturnType<typeof useCount>;
  testId: string;
}

function Stat({ label, hint, to, icon: Icon, color, count, testId }: StatProps) {
  return (
    <Card withBorder radius="md" padding="lg" component={Link} to={to} data-testid={testId} style={{ textDecoration: 'none' }}>
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <div>
          <Text c="dimmed" size="xs" tt="uppercase" fw={600}>
            {label}
          </Text>
          {count.isPending ? (
            <Skeleton h={34} w={60} mt={6} />
          ) : count.isError ? (
            <Text c="red" size="sm" mt={6} title={errorMessage(count.error)}>
              unavailable
            </Text>
          ) : (
            <Text fz={32} fw={700} lh={1.2} data-testid={`${testId}-value`}>
              {count.data.count.toLocaleString()}
              {count.data.atLeast ? '+' : ''}
            </Text>
          )}
          <Text c="dimmed" size="xs" mt={4}>
            {hint}
          </Text>
        </div>
        <ThemeIcon size={42} radius="md" variant="light" color={color}>
          <Icon size={24} />
        </ThemeIcon>
      </Group>
    </Card>
  );
}

export function DashboardPage() {
  // Approver groups may include Clients: sessions waiting for them show above their assets.
  return useIsStaff() ? (
    <StaffDashboard />
  ) : (
    <>
      <WaitingSessionsPanel />
      <MyAssets />
    </>
  );
}

function StaffDashboard() {
  const me = useMe();
  const admin = useIsAdmin();
  const sites = useCount('sites');
  const active = useCount('assets', { state: 'active' });
  const imported = useCount('assets', { state: 'imported' });
  const critical = useCount('assets', { state: 'active', safetyCritical: 'true' });
  const users = useCount('users');
  // Approvers: Administrators (requests whose rules name no group) and members of approver groups.
  const approvals = useInboxCount();
  const approver = admin || (approvals.data?.count ?? 0) > 0;

  const noSites = sites.data?.count === 0;
  const pendingImports = (imported.data?.count ?? 0) > 0;

  return (
    <>
      <PageHeader title="Dashboard" description={`Welcome, ${me.displayName || me.username}. Inventory at a glance.`} />
      <SimpleGrid cols={{ base: 1, xs: 2, lg: approver ? 6 : 5 }} spacing="md">
        <Stat label="Sites" hint="Plants and locations" to="/sites" icon={IconFactory} color="portcullis" count={sites} testId="stat-sites" />
        <Stat label="Assets" hint="Active, reachable through the gateway" to="/assets" icon={IconServer} color="teal" count={active} testId="stat-assets" />
        <Stat
          label="Imported assets"
          hint="Waiting for review and activation"
          to="/assets?state=imported"
          icon={IconUpload}
          color="yellow"
          count={imported}
          testId="stat-imported"
        />
        <Stat
          label="Safety-critical"
          hint="Active assets flagged safety-critical"
          to="/assets?safetyCritical=true"
          icon={IconShield}
          color="red"
          count={critical}
          testId="stat-critical"
        />
        <Stat label="Users" hint="Local and directory accounts" to="/users" icon={IconUsers} color="grape" count={users} testId="stat-users" />
        {approver && (
          <Stat label="Pending approvals" hint="Access requests waiting for your decision" to="/requests/inbox" icon={IconCheck} color="orange" count={approvals} testId="stat-approvals" />
        )}
      </SimpleGrid>

      <WaitingSessionsPanel />
      {admin && <ReviewQueuePanel />}

      {(noSites || pendingImports) && (
        <Alert mt="lg" color={noSites ? 'blue' : 'yellow'} variant="light" icon={<IconAlert />} title={noSites ? 'Getting started' : 'Imported assets need review'}>
          {noSites ? (
            <List size="sm" spacing={4}>
              <List.Item>
                Create a <Anchor component={Link} to="/sites?new=1">site</Anchor> for each plant, with its zones (Purdue level, target security level).
              </List.Item>
              <List.Item>
                Add <Anchor component={Link} to="/assets">assets</Anchor> one by one, or import a CSV file and activate the rows after review.
              </List.Item>
              {admin && (
                <List.Item>
                  Create <Anchor component={Link} to="/users">users</Anchor> for employees and vendors; vendor accounts should expire.
                </List.Item>
              )}
            </List>
          ) : (
            <Text size="sm">
              {imported.data?.count} imported asset{imported.data?.count === 1 ? ' is' : 's are'} not reachable until activated.{' '}
              <Anchor component={Link} to="/assets?state=imported">
                Review imported assets
              </Anchor>
            </Text>
          )}
        </Alert>
      )}
    </>
  );
}
