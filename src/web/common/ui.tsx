import { Alert, Button, type ButtonProps, Code, CopyButton, Group, Modal, Paper, Stack, Text, Title, Tooltip } from '@mantine/core';
import type { ComponentPropsWithoutRef, CSSProperties, ReactNode } from 'react';
import { downloadText } from './download';
import { ProblemAlert } from './errors';
import { IconAlert, IconCheck, IconCopy, IconDownload, IconPlus } from './icons';

interface HeadingProps {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
}

/** A title with its dimmed description on the left, actions on the right (pages and sections). */
function Heading({ title, description, actions, order, align, mb, textStyle }: HeadingProps & { order: 2 | 4; align: 'flex-end' | 'flex-start'; mb: 'md' | 0; textStyle: CSSProperties }) {
  return (
    <Group justify="space-between" align={align} mb={mb} wrap="wrap" gap="sm">
      <div style={textStyle}>
        <Title order={order} fw={600}>
          {title}
        </Title>
        {description && (
          <Text c="dimmed" size="sm" mt={2}>
            {description}
          </Text>
        )}
      </div>
      {actions && <Group gap="xs">{actions}</Group>}
    </Group>
  );
}

const PAGE_TITLE_STYLE: CSSProperties = { flex: '1 1 420px', minWidth: 0 };
const SECTION_TITLE_STYLE: CSSProperties = { flex: 1, minWidth: 240 };

export function PageHeader(props: HeadingProps) {
  return <Heading {...props} order={2} align="flex-end" mb="md" textStyle={PAGE_TITLE_STYLE} />;
}

/**
 * The header of a list page: the list's CSV export (`csv`, its link), any `extra` actions, and the
 * "New …" button (`create`; false or absent where the user may not create).
 */
export function ListPageHeader({
  csv,
  extra,
  create,
  ...heading
}: Omit<HeadingProps, 'actions'> & { csv?: string; extra?: ReactNode; create?: { label: string; testId: string; onClick: () => void; disabled?: boolean } | false }) {
  return (
    <PageHeader
      {...heading}
      actions={
        <>
          {csv !== undefined && <CsvButton href={csv} />}
          {extra}
          {create && (
            <NewButton onClick={create.onClick} disabled={create.disabled} data-testid={create.testId}>
              {create.label}
            </NewButton>
          )}
        </>
      }
    />
  );
}

/** Download link for a list's CSV export (same origin, so the session cookie goes along). */
export function CsvButton({ href, ...rest }: { href: string } & ButtonProps) {
  return (
    <Button
      component="a"
      href={href}
      download
      variant="default"
      leftSection={<IconDownload size={16} />}
      data-testid="csv-button"
      {...rest}
    >
      CSV
    </Button>
  );
}

/** The primary "New …" button of a page or section. */
export function NewButton(props: ButtonProps & ComponentPropsWithoutRef<'button'>) {
  return <Button leftSection={<IconPlus size={16} />} {...props} />;
}

interface ConfirmModalProps {
  opened: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  loading?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onClose: () => void;
}

export function ConfirmModal({ opened, title, children, confirmLabel, danger, loading, error, onConfirm, onClose }: ConfirmModalProps) {
  return (
    <Modal opened={opened} onClose={onClose} title={<Text fw={600}>{title}</Text>} centered>
      <Stack>
        <div>{children}</div>
        <ProblemAlert error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose} disabled={loading}>
            Cancel
          </Button>
          <Button color={danger ? 'red' : undefined} onClick={onConfirm} loading={loading} data-testid="confirm-button">
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** Shows a freshly issued one-time password exactly once, with a copy button. */
export function OneTimePasswordModal({ username, password, onClose }: { username: string; password: string | null; onClose: () => void }) {
  return (
    <Modal
      opened={password !== null}
      onClose={onClose}
      title={<Text fw={600}>One-time password for {username}</Text>}
      centered
      closeOnClickOutside={false}
      data-testid="otp-modal"
    >
      <Stack>
        <Alert color="yellow" variant="light" icon={<IconAlert />}>
          This password is shown only once. Hand it to the user over a separate channel; they must choose their own
          password when they first sign in.
        </Alert>
        <CopyField value={password ?? ''} testId="one-time-password" />
        <Group justify="flex-end">
          <Button onClick={onClose}>Done</Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** A secret shown once (password, token, key) in monospace with a copy button. `display` may format it for reading. */
export function CopyField({ value, display, testId, size = 'lg' }: { value: string; display?: string; testId: string; size?: 'sm' | 'md' | 'lg' }) {
  return (
    <Group gap="xs" wrap="nowrap">
      <Code fz={size} p="sm" style={{ flex: 1, wordBreak: 'break-all' }} data-testid={testId}>
        {display ?? value}
      </Code>
      <CopyButton value={value} timeout={2000}>
        {({ copied, copy }) => (
          <Tooltip label={copied ? 'Copied' : 'Copy to clipboard'} withArrow>
            <Button
              variant={copied ? 'light' : 'default'}
              color={copied ? 'teal' : undefined}
              onClick={copy}
              leftSection={copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
              data-testid={`${testId}-copy`}
            >
              {copied ? 'Copied' : 'Copy'}
            </Button>
          </Tooltip>
        )}
      </CopyButton>
    </Group>
  );
}

/** "Download .txt" for text generated in the page (recovery codes...): a Blob link, no server round trip. */
export function DownloadTextButton({ filename, text, label = 'Download .txt', testId }: { filename: string; text: string; label?: string; testId: string }) {
  return (
    <Button variant="default" leftSection={<IconDownload size={16} />} onClick={() => downloadText(filename, text)} data-testid={testId}>
      {label}
    </Button>
  );
}

/** A titled block of a settings or profile page. */
export function Section({ children, testId, ...heading }: HeadingProps & { children?: ReactNode; testId?: string }) {
  return (
    <Paper withBorder radius="md" p="lg" data-testid={testId}>
      <Heading {...heading} order={4} align="flex-start" mb={children ? 'md' : 0} textStyle={SECTION_TITLE_STYLE} />
      {children}
    </Paper>
  );
}
