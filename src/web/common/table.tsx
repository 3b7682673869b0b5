import { ActionIcon, Button, Group, Loader, Table, Text, Tooltip } from '@mantine/core';
import type { ComponentType, CSSProperties, ReactNode } from 'react';
import { ProblemAlert } from './errors';
import { IconEdit, type IconProps, IconTrash } from './icons';

interface TableStatusProps {
  colSpan: number;
  loading: boolean;
  error: unknown;
  empty: boolean;
  emptyText: ReactNode;
}

/** Rows state for a table body: loading, failed, or empty. Returns null when there are rows. */
function TableStatus({ colSpan, loading, error, empty, emptyText }: TableStatusProps) {
  let content: ReactNode;
  if (error) content = <ProblemAlert error={error} title="Could not load the list" />;
  else if (loading)
    content = (
      <Group justify="center" p="lg">
        <Loader size="sm" />
        <Text c="dimmed" size="sm">
          Loading…
        </Text>
      </Group>
    );
  else if (empty)
    content = (
      <Text c="dimmed" ta="center" p="lg" size="sm">
        {emptyText}
      </Text>
    );
  else return null;
  return (
    <Table.Tr>
      <Table.Td colSpan={colSpan}>{content}</Table.Td>
    </Table.Tr>
  );
}

interface DataTableProps {
  testId: string;
  minWidth: number;
  /** The header cells (one row). */
  head: ReactNode;
  /** Loading / error / empty state, shown as a single row spanning `colSpan` columns. */
  status: TableStatusProps;
  style?: CSSProperties;
  /** The body rows. */
  children: ReactNode;
}

/** A list table: bordered wrapper, horizontal scrolling, header row, and the loading/error/empty row. */
export function DataTable({ testId, minWidth, head, status, style, children }: DataTableProps) {
  return (
    <div className="pc-table-wrap" style={style}>
      <Table.ScrollContainer minWidth={minWidth}>
        <Table data-testid={testId}>
          <Table.Thead>
            <Table.Tr>{head}</Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            <TableStatus {...status} />
            {children}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </div>
  );
}

interface PagedList {
  items: unknown[];
  isPending: boolean;
  error: unknown;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

/** The DataTable status of a paginated list (`useList`). */
export function listStatus(list: PagedList, colSpan: number, emptyText: ReactNode): TableStatusProps {
  return { colSpan, loading: list.isPending, error: list.error, empty: list.items.length === 0, emptyText };
}

/** Count of the rows shown and "Load more" for a paginated list (`useList`). */
export function ListFooter({ list, noun }: { list: PagedList; noun: string }) {
  const count = list.items.length;
  const hasMore = !!list.hasNextPage;
  return (
    <Group justify="space-between" mt="sm">
      <Text size="sm" c="dimmed" data-testid="list-count">
        {count === 0 ? '' : `${count}${hasMore ? '+' : ''} ${noun}${count === 1 && !hasMore ? '' : 's'} shown`}
      </Text>
      {hasMore && (
        <Button variant="subtle" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
          Load more
        </Button>
      )}
    </Group>
  );
}

/** A row's name, with a dimmed line below it (e.g. when it was created). */
export function NameCell({ name, caption }: { name: string; caption: ReactNode }) {
  return (
    <Table.Td>
      <Text size="sm" fw={500}>
        {name}
      </Text>
      <Text size="xs" c="dimmed">
        {caption}
      </Text>
    </Table.Td>
  );
}

/** The cell with a row's icon buttons, right-aligned. */
export function RowActions({ children }: { children: ReactNode }) {
  return (
    <Table.Td>
      <Group gap={4} justify="flex-end" wrap="nowrap">
        {children}
      </Group>
    </Table.Td>
  );
}

interface RowActionProps {
  /** Tooltip text. */
  tooltip: string;
  /** Accessible name, naming the row (e.g. "Edit PLC-01"). */
  label: string;
  icon: ComponentType<IconProps>;
  danger?: boolean;
  onClick: () => void;
  testId?: string;
}

export function RowAction({ tooltip, label, icon: Icon, danger, onClick, testId }: RowActionProps) {
  return (
    <Tooltip label={tooltip} withArrow>
      <ActionIcon variant="subtle" color={danger ? 'red' : 'gray'} aria-label={label} onClick={onClick} data-testid={testId}>
        <Icon size={17} />
      </ActionIcon>
    </Tooltip>
  );
}

export function EditAction({ label, onClick, testId }: { label: string; onClick: () => void; testId?: string }) {
  return <RowAction tooltip="Edit" label={label} icon={IconEdit} onClick={onClick} testId={testId} />;
}

export function DeleteAction({ label, onClick, testId }: { label: string; onClick: () => void; testId?: string }) {
  return <RowAction tooltip="Delete" label={label} icon={IconTrash} danger onClick={onClick} testId={testId} />;
}
