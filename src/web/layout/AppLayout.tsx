import { AppShell, Avatar, Badge, Burger, Group, Menu, Modal, NavLink, ScrollArea, Text, ThemeIcon, UnstyledButton } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { type ComponentType, type ReactNode, Suspense, useState } from 'react';
import { Link, Outlet, useLocation } from 'react-router-dom';
import { useAuth, useMe } from '../auth/AuthProvider';
import { ChangePasswordForm } from '../auth/ChangePasswordForm';
import { PageLoader } from '../auth/RequireAuth';
import {
  IconActivity,
  IconCheck,
  IconClock,
  IconDashboard,
  IconEye,
  IconFactory,
  IconGate,
  IconFingerprint,
  IconHistory,
  IconKey,
  IconLayers,
  IconLock,
  IconLogout,
  IconMessage,
  IconServer,
  IconShield,
  IconSitemap,
  IconToken,
  IconUser,
  IconUsers,
  IconUsersGroup,
} from '../common/icons';
import { IconMail, IconWebhook } from '../system/notifyIcons';
import { ROLE_COLOR, type Role } from '../api/types';
import { useInboxCount } from '../requests/api';

interface NavItem {
  to: string;
  label: string;
  icon: ComponentType<{ size?: number }>;
  roles?: Role[];
  testId: string;
  /** Active only on exactly this path (not on the paths below it). */
  exact?: boolean;
}

/** Inventory and users are staff areas (the gateway answers 403 to Clients there). */
const STAFF: Role[] = ['Administrator', 'Operator'];

const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard', icon: IconDashboard, testId: 'nav-dashboard' },
  { to: '/access', label: 'My access', icon: IconClock, testId: 'nav-my-access' },
  { to: '/sites', label: 'Sites', icon: IconFactory, roles: STAFF, testId: 'nav-sites' },
  { to: '/assets', label: 'Assets', icon: IconServer, roles: STAFF, testId: 'nav-assets' },
  { to: '/users', label: 'Users', icon: IconUsers, roles: STAFF, testId: 'nav-users' },
  { to: '/groups', label: 'Groups', icon: IconUsersGroup, roles: STAFF, testId: 'nav-groups' },
  { to: '/policy', label: 'Access policy', icon: IconShield, roles: STAFF, testId: 'nav-policy' },
];

/** Brokered sessions: who is connected now, and what happened (recordings). Staff only. */
const SESSIONS: NavItem[] = [
  { to: '/sessions', label: 'Active sessions', icon: IconActivity, testId: 'nav-sessions-active', exact: true },
  { to: '/sessions/history', label: 'History', icon: IconHistory, testId: 'nav-sessions-history' },
];

/** Access requests: the approvals inbox (staff, and anyone with something to decide) and the list (staff). */
const REQUESTS: NavItem[] = [
  { to: '/requests/inbox', label: 'Approvals', icon: IconCheck, testId: 'nav-requests-inbox' },
  { to: '/requests', label: 'All requests', icon: IconLayers, roles: STAFF, testId: 'nav-requests', exact: true },
];

/** System Management: gateway-wide settings, Administrators only. */
const SYSTEM: NavItem[] = [
  { to: '/system/security', label: 'Security', icon: IconLock, testId: 'nav-system-security' },
  { to: '/system/login-message', label: 'Login message', icon: IconMessage, testId: 'nav-system-login-message' },
  { to: '/system/oversight', label: 'Live oversight', icon: IconEye, testId: 'nav-system-oversight' },
  { to: '/system/audit', label: 'Audit log', icon: IconFingerprint, testId: 'nav-system-audit' },
  { to: '/system/tokens', label: 'API tokens', icon: IconToken, testId: 'nav-system-tokens' },
  { to: '/system/domains', label: 'Domains', icon: IconSitemap, testId: 'nav-system-domains' },
  { to: '/system/email', label: 'Email (SMTP)', icon: IconMail, testId: 'nav-system-email' },
  { to: '/system/webhooks', label: 'Webhooks', icon: IconWebhook, testId: 'nav-system-webhooks' },
];

function initials(name: string): string {
  const parts = name.trim().split(/[\s._-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase();
}

export function AppLayout() {
  const me = useMe();
  const { logout } = useAuth();
  const location = useLocation();
  const [opened, { toggle, close }] = useDisclosure();
  const [pwOpen, setPwOpen] = useState(false);

  const isActive = (to: string, exact = false) =>
    to === '/' || exact ? location.pathname === to : location.pathname === to || location.pathname.startsWith(`${to}/`);
  const staff = STAFF.includes(me.role);
  const onPlayback = /^\/sessions\/[^/]+\/play$/.test(location.pathname);
  const inbox = useInboxCount();
  const toDecide = inbox.data?.count ?? 0;
  const requestNav = REQUESTS.filter((n) => (n.roles ? n.roles.includes(me.role) : staff || toDecide > 0));

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 230, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="lg">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <UnstyledButton component={Link} to="/" aria-label="Portcullis home">
              <Group gap={10} wrap="nowrap">
                <ThemeIcon size={32} radius="md" color="portcullis">
                  <IconGate size={20} />
                </ThemeIcon>
                <div>
                  <Text fw={700} lh={1.1}>
                    Portcullis
                  </Text>
                  <Text fz={11} c="dimmed" lh={1.1} visibleFrom="xs">
                    OT remote access gateway
                  </Text>
                </div>
              </Group>
            </UnstyledButton>
          </Group>
          <Menu position="bottom-end" width={240} withArrow shadow="md">
            <Menu.Target>
              <UnstyledButton data-testid="user-menu" aria-label={`Account ${me.username}`}>
                <Group gap="xs" wrap="nowrap">
                  <Avatar size={32} radius="xl" color="portcullis">
                    {initials(me.displayName || me.username)}
                  </Avatar>
                  <div style={{ lineHeight: 1.1 }}>
                    <Text size="sm" fw={500} visibleFrom="xs">
                      {me.displayName || me.username}
                    </Text>
                    <Text size="xs" c="dimmed" visibleFrom="xs">
                      {me.role}
                    </Text>
                  </div>
                </Group>
              </UnstyledButton>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>
                Signed in as <b>{me.username}</b>
              </Menu.Label>
              <Group px="sm" pb="xs">
                <Badge color={ROLE_COLOR[me.role]} variant="light" size="sm">
                  {me.role}
                </Badge>
              </Group>
              <Menu.Divider />
              <Menu.Item component={Link} to="/profile" leftSection={<IconUser size={16} />} data-testid="menu-profile">
                My profile
              </Menu.Item>
              <Menu.Item leftSection={<IconKey size={16} />} onClick={() => setPwOpen(true)}>
                Change password
              </Menu.Item>
              <Menu.Item color="red" leftSection={<IconLogout size={16} />} onClick={() => void logout()} data-testid="logout">
                Sign out
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </AppShell.Header>

      <AppShell.Navbar p="sm">
        <AppShell.Section grow component={ScrollArea}>
          <nav aria-label="Main">
            {NAV.filter((n) => !n.roles || n.roles.includes(me.role)).map((n) => (
              <NavItemLink key={n.to} item={n} active={isActive(n.to)} onClick={close} />
            ))}
          </nav>
          {requestNav.length > 0 && (
            <nav aria-label="Access requests">
              <Text fz={11} fw={700} c="dimmed" tt="uppercase" px="sm" mt="lg" mb={6} style={{ letterSpacing: '0.04em' }}>
                Access requests
              </Text>
              {requestNav.map((n) => (
                <NavItemLink
                  key={n.to}
                  item={n}
                  active={isActive(n.to, n.exact)}
                  onClick={close}
                  badge={n.to === '/requests/inbox' && toDecide > 0 ? <Badge size="sm" color="orange" circle={toDecide < 10} data-testid="nav-inbox-count">{toDecide}</Badge> : undefined}
                />
              ))}
            </nav>
          )}
          {staff && (
            <nav aria-label="Sessions">
              <Text fz={11} fw={700} c="dimmed" tt="uppercase" px="sm" mt="lg" mb={6} style={{ letterSpacing: '0.04em' }}>
                Sessions
              </Text>
              {SESSIONS.map((n) => (
                <NavItemLink key={n.to} item={n} active={n.to === '/sessions/history' && onPlayback ? true : isActive(n.to, n.exact)} onClick={close} />
              ))}
            </nav>
          )}
          {me.role === 'Administrator' && (
            <nav aria-label="System management">
              <Text fz={11} fw={700} c="dimmed" tt="uppercase" px="sm" mt="lg" mb={6} style={{ letterSpacing: '0.04em' }}>
                System Management
              </Text>
              {SYSTEM.map((n) => (
                <NavItemLink key={n.to} item={n} active={isActive(n.to)} onClick={close} />
              ))}
            </nav>
          )}
        </AppShell.Section>
        <AppShell.Section>
          <Text fz={11} c="dimmed" px="xs">
            Every session is brokered, recorded and audited.
          </Text>
        </AppShell.Section>
      </AppShell.Navbar>

      <AppShell.Main bg="var(--mantine-color-gray-0)">
        <Suspense fallback={<PageLoader />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>

      <Modal opened={pwOpen} onClose={() => setPwOpen(false)} title={<Text fw={600}>Change password</Text>} centered>
        <ChangePasswordForm onDone={() => setPwOpen(false)} />
      </Modal>
    </AppShell>
  );
}

function NavItemLink({ item, active, onClick, badge }: { item: NavItem; active: boolean; onClick: () => void; badge?: ReactNode }) {
  return (
    <NavLink
      component={Link}
      to={item.to}
      label={item.label}
      leftSection={<item.icon size={18} />}
      rightSection={badge}
      active={active}
      onClick={onClick}
      variant="light"
      fw={500}
      style={{ borderRadius: 'var(--mantine-radius-sm)' }}
      data-testid={item.testId}
    />
  );
}
