import { Anchor, Badge, Select, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/client';
import { csvHref, useApiMutation, useList } from '../api/hooks';
import { GROUP_KINDS, type Group as UserGroup } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { FilterBar, FilterText, useUrlFilters } from '../common/filters';
import { formatDateTime } from '../common/format';
import { IconUsers } from '../common/icons';
import { DataTable, DeleteAction, EditAction, ListFooter, listStatus, RowAction, RowActions } from '../common/table';
import { ConfirmModal, ListPageHeader } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { GroupFormModal } from './GroupFormModal';
import { GroupMembersModal } from './GroupMembersModal';
import { KIND_COLOR, KIND_LABEL } from './kinds';


export function GroupsPage() {
  const admin = useIsAdmin();
  const { values: f, set, active } = useUrlFilters(['name', 'kind'] as const);
  const list = useList<UserGroup>('groups', f);
  const [form, setForm] = useState<{ group: UserGroup | null } | null>(null);
  const [members, setMembers] = useState<UserGroup | null>(null);
  const remove = useApiMutation((g: UserGroup) => api.delete(`/groups/${g.id}`), ['groups', 'users']);
  const del = useConfirmDelete(remove);

  return (
    <>
      <ListPageHeader
        title="Groups"
        description="Permission groups receive asset grants for their members; user-management groups delegate the administration of users."
        csv={csvHref('groups', f)}
        create={admin && { label: 'New group', testId: 'new-group', onClick: () => setForm({ group: null }) }}
      />
      <FilterBar active={active} onClear={() => set({ name: null, kind: null })}>
        <FilterText label="Name" placeholder="Filter by name" value={f.name} onChange={(v) => set({ name: v })} w={260} data-testid="filter-group-name" />
        <Select
          label="Kind"
          placeholder="Any kind"
          clearable
          data={GROUP_KINDS.map((k) => ({ value: k.value, label: k.label }))}
          value={f.kind || null}
          onChange={(v) => set({ kind: v })}
          w={200}
          data-testid="filter-group-kind"
        />
      </FilterBar>

      <DataTable
        testId="groups-table"
        minWidth={860}
        head={
          <>
            <Table.Th>Name</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th ta="right">Members</Table.Th>
            <Table.Th>Description</Table.Th>
            <Table.Th>Updated</Table.Th>
            <Table.Th w={admin ? 120 : 60} />
          </>
        }
        status={listStatus(list, 6, active ? 'No group matches the filters.' : 'No groups yet. Create one with "New group".')}
      >
        {list.items.map((g) => (
          <Table.Tr key={g.id} data-testid="group-row" data-group-name={g.name}>
            <Table.Td>
              <Anchor component="button" type="button" fw={500} size="sm" onClick={() => setMembers(g)}>
                {g.name}
              </Anchor>
            </Table.Td>
            <Table.Td>
              <Badge variant="light" color={KIND_COLOR[g.kind]} tt="none">
                {KIND_LABEL[g.kind]}
              </Badge>
            </Table.Td>
            <Table.Td ta="right" data-testid="group-member-count">
              {g.memberCount}
            </Table.Td>
            <Table.Td maw={360}>
              <Text size="sm" c="dimmed" truncate="end" title={g.description}>
                {g.description || '—'}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
                {formatDateTime(g.updatedAt)}
              </Text>
            </Table.Td>
            <RowActions>
              <RowAction tooltip="Members" label={`Members of ${g.name}`} icon={IconUsers} onClick={() => setMembers(g)} testId="group-members" />
              {admin && <EditAction label={`Edit ${g.name}`} onClick={() => setForm({ group: g })} testId="group-edit" />}
              {admin && <DeleteAction label={`Delete ${g.name}`} onClick={() => del.ask(g)} testId="group-delete" />}
            </RowActions>
          </Table.Tr>
        ))}
      </DataTable>
      <ListFooter list={list} noun="group" />

      <GroupFormModal opened={form !== null} group={form?.group ?? null} onClose={() => setForm(null)} />
      <GroupMembersModal group={members} onClose={() => setMembers(null)} />
      <ConfirmModal {...del.modal} title="Delete group" confirmLabel="Delete group">
        <Text size="sm">
          Delete group <b>{del.target?.name}</b>? Its members stay; the grants given to the group are removed with it, so members may
          lose access to assets.
        </Text>
      </ConfirmModal>
    </>
  );
}
