import { Alert, Anchor, Badge, Button, Checkbox, Group, Paper, Select, Table, Tabs, Text } from '@mantine/core';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import { csvHref, useAllSites, useApiMutation, useCount, useList, useSiteZones } from '../api/hooks';
import { type Asset, type ImportResult, PROTOCOL_LABELS } from '../api/types';
import { useIsAdmin } from '../auth/AuthProvider';
import { AssetNameCell, HostCell, PurdueCell, SiteZoneCell } from '../common/assetCells';
import { ProblemAlert } from '../common/errors';
import { FilterBar, FilterText, useUrlFilters } from '../common/filters';
import { IconCheck, IconPlayerPlay, IconTrash, IconUpload } from '../common/icons';
import { DataTable, DeleteAction, EditAction, ListFooter, listStatus, RowActions } from '../common/table';
import { ConfirmModal, ListPageHeader } from '../common/ui';
import { useConfirmDelete } from '../common/useConfirmDelete';
import { ConnectMenu } from '../sessions/connect';
import { AssetFormModal, PROTOCOL_OPTIONS } from './AssetFormModal';
import { ImportModal } from './ImportModal';

const FILTER_KEYS = ['state', 'siteId', 'zoneId', 'name', 'host', 'username', 'tag', 'protocol', 'safetyCritical'] as const;

export function AssetsPage() {
  const admin = useIsAdmin();
  const { values: f, set } = useUrlFilters(FILTER_KEYS, { state: 'active' });
  const imported = f.state === 'imported';
  const list = useList<Asset>('assets', f);
  const importedCount = useCount('assets', { state: 'imported' });
  const sites = useAllSites();
  const zones = useSiteZones(f.siteId || null);

  const [form, setForm] = useState<{ asset: Asset | null } | null>(null);
  const [importOpen, setImportOpen] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState<{ color: string; text: string } | null>(null);

  const activate = useApiMutation((ids: string[]) => api.post<{ items: Asset[] }>('/assets/activate', { ids }), ['assets']);
  const remove = useApiMutation(async (assets: Asset[]) => {
    for (const a of assets) await api.delete(`/assets/${a.id}`);
  }, ['assets']);
  const del = useConfirmDelete(remove, () => setSelected(new Set()));
  const deleting = del.target;

  const selectable = imported && admin;
  // Selection only counts for rows on screen (a refetch may have removed some).
  const chosen = list.items.filter((a) => selected.has(a.id));
  const allSelected = list.items.length > 0 && chosen.length === list.items.length;
  const someSelected = chosen.length > 0;
  const filtered = FILTER_KEYS.some((k) => k !== 'state' && f[k] !== '');
  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  function onImported(result: ImportResult) {
    set({ state: 'imported' });
    setSelected(new Set(result.assets.map((a) => a.id)));
    setNotice({
      color: 'green',
      text: `Imported ${result.imported} asset${result.imported === 1 ? '' : 's'}. They are selected below: review them and activate the ones that are correct.`,
    });
  }

  function doActivate() {
    const ids = chosen.map((a) => a.id);
    activate.mutate(ids, {
      onSuccess: (res) => {
        const n = res?.items?.length ?? ids.length;
        setSelected(new Set());
        setNotice({ color: 'green', text: `Activated ${n} asset${n === 1 ? '' : 's'}. They are now in the Active list.` });
      },
    });
  }

  const siteOptions = (sites.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }));
  const zoneOptions = (zones.data?.items ?? []).map((z) => ({ value: z.id, label: z.name }));
  const csvFilters = { ...f, state: f.state || 'active' };
  // Imported assets are not reachable: no Connect there.
  const connectable = !imported;
  const cols = 8 + (selectable ? 1 : 0) + (connectable ? 1 : 0) + (admin ? 1 : 0);

  return (
    <>
      <ListPageHeader
        title="Assets"
        description="Devices the gateway brokers sessions to: PLCs, HMIs, engineering stations, historians."
        csv={csvHref('assets', csvFilters)}
        extra={
          admin &&
          imported && (
            <Button variant="default" leftSection={<IconUpload size={16} />} onClick={() => setImportOpen(true)} data-testid="import-csv">
              Import CSV
            </Button>
          )
        }
        create={admin && { label: 'New asset', testId: 'new-asset', onClick: () => setForm({ asset: null }) }}
      />

      <Tabs value={imported ? 'imported' : 'active'} onChange={(v) => {
          setSelected(new Set());
          setNotice(null);
          set({ state: v === 'imported' ? 'imported' : 'active' });
        }} mb="md">
        <Tabs.List>
          <Tabs.Tab value="active" data-testid="tab-active">
            Active
          </Tabs.Tab>
          <Tabs.Tab
            value="imported"
            data-testid="tab-imported"
            rightSection={
              importedCount.data && importedCount.data.count > 0 ? (
                <Badge size="xs" circle={importedCount.data.count < 10} color="yellow" variant="filled">
                  {importedCount.data.count}
                  {importedCount.data.atLeast ? '+' : ''}
                </Badge>
              ) : null
            }
          >
            Imported
          </Tabs.Tab>
        </Tabs.List>
      </Tabs>

      <Paper withBorder p="sm" mb="md" radius="md">
        <FilterBar mb={0} active={filtered} onClear={() => set({ siteId: null, zoneId: null, name: null, host: null, username: null, tag: null, protocol: null, safetyCritical: null })}>
          <Select
            label="Site"
            placeholder="All sites"
            clearable
            searchable
            data={siteOptions}
            value={f.siteId || null}
            onChange={(v) => set({ siteId: v, zoneId: null })}
            w={180}
            data-testid="filter-site"
          />
          {f.siteId && (
            <Select
              label="Zone"
              placeholder="All zones"
              clearable
              data={zoneOptions}
              value={f.zoneId || null}
              onChange={(v) => set({ zoneId: v })}
              w={170}
              data-testid="filter-zone"
            />
          )}
          <FilterText label="Name" placeholder="Asset name" value={f.name} onChange={(v) => set({ name: v })} w={160} data-testid="filter-name" />
          <FilterText label="Host / IP" placeholder="10.10.3." value={f.host} onChange={(v) => set({ host: v })} w={140} data-testid="filter-host" />
          <FilterText
            label="Reachable by user"
            placeholder="username"
            value={f.username}
            onChange={(v) => set({ username: v })}
            w={160}
            data-testid="filter-username"
          />
          <FilterText label="Tag" placeholder="tag" value={f.tag} onChange={(v) => set({ tag: v })} w={120} data-testid="filter-tag" />
          <Select
            label="Protocol"
            placeholder="Any"
            clearable
            data={PROTOCOL_OPTIONS}
            value={f.protocol || null}
            onChange={(v) => set({ protocol: v })}
            w={130}
            data-testid="filter-protocol"
          />
          <Checkbox
            label="Safety-critical"
            checked={f.safetyCritical === 'true'}
            onChange={(e) => set({ safetyCritical: e.currentTarget.checked ? 'true' : null })}
            mb={8}
            data-testid="filter-safety-critical"
          />
        </FilterBar>
      </Paper>

      {notice && (
        <Alert color={notice.color} variant="light" icon={<IconCheck />} mb="md" withCloseButton onClose={() => setNotice(null)} data-testid="assets-notice">
          {notice.text}
        </Alert>
      )}
      {activate.error ? <ProblemAlert error={activate.error} title="Not activated" onClose={() => activate.reset()} /> : null}

      {selectable && (
        <Group mb="sm" gap="xs">
          <Button
            leftSection={<IconPlayerPlay size={15} />}
            disabled={!someSelected}
            loading={activate.isPending}
            onClick={doActivate}
            color="teal"
            data-testid="activate-selected"
          >
            Activate{someSelected ? ` ${chosen.length} selected` : ''}
          </Button>
          <Button
            variant="default"
            color="red"
            leftSection={<IconTrash size={15} />}
            disabled={!someSelected}
            onClick={() => del.ask(chosen)}
            data-testid="delete-selected"
          >
            Discard selected
          </Button>
          <Text size="sm" c="dimmed">
            Imported assets are not reachable until activated.
          </Text>
        </Group>
      )}

      <DataTable
        testId="assets-table"
        minWidth={1100}
        head={
          <>
            {selectable && (
              <Table.Th w={40}>
                <Checkbox
                  aria-label="Select all shown"
                  checked={allSelected}
                  indeterminate={someSelected && !allSelected}
                  onChange={() => setSelected(allSelected ? new Set() : new Set(list.items.map((a) => a.id)))}
                  data-testid="select-all"
                />
              </Table.Th>
            )}
            <Table.Th>Name</Table.Th>
            <Table.Th>Site / zone</Table.Th>
            <Table.Th>Level</Table.Th>
            <Table.Th>Host</Table.Th>
            <Table.Th>Access</Table.Th>
            <Table.Th>Tags</Table.Th>
            <Table.Th>Vendor / model</Table.Th>
            <Table.Th>Firmware</Table.Th>
            {connectable && <Table.Th w={110} />}
            {admin && <Table.Th w={90} />}
          </>
        }
        status={listStatus(
          list,
          cols,
          filtered
            ? 'No asset matches the filters.'
            : imported
              ? 'No imported assets waiting for review. Use "Import CSV" to bring in an inventory.'
              : 'No assets yet. Add one with "New asset", or import a CSV file in the Imported tab.',
        )}
      >
        {list.items.map((a) => (
          <Table.Tr key={a.id} data-testid="asset-row" data-asset-name={a.name} bg={selected.has(a.id) ? 'var(--mantine-primary-color-light)' : undefined}>
            {selectable && (
              <Table.Td>
                <Checkbox aria-label={`Select ${a.name}`} checked={selected.has(a.id)} onChange={() => toggle(a.id)} />
              </Table.Td>
            )}
            <AssetNameCell name={a.name} safetyCritical={a.safetyCritical} explained to={`/assets/${a.id}`}>
              {a.description && (
                <Text size="xs" c="dimmed" lineClamp={1} maw={260} title={a.description}>
                  {a.description}
                </Text>
              )}
            </AssetNameCell>
            <SiteZoneCell
              site={
                <Anchor component={Link} to={`/sites/${a.siteId}`} size="sm">
                  {a.siteName}
                </Anchor>
              }
              zoneName={a.zoneName}
            />
            <PurdueCell level={a.purdueLevel} />
            <HostCell host={a.host} />
            <Table.Td>
              <Group gap={4}>
                {a.accessMethods.map((m) => (
                  <Badge key={`${m.protocol}:${m.port}`} variant="light" size="sm" tt="none">
                    {PROTOCOL_LABELS[m.protocol]?.replace(' tunnel', '') ?? m.protocol} {m.port}
                  </Badge>
                ))}
              </Group>
            </Table.Td>
            <Table.Td>
              <Group gap={4} maw={220}>
                {a.tags.map((t) => (
                  <Badge
                    key={t}
                    variant="default"
                    size="sm"
                    tt="none"
                    style={{ cursor: 'pointer' }}
                    onClick={() => set({ tag: t })}
                    title={`Show assets tagged ${t}`}
                  >
                    {t}
                  </Badge>
                ))}
              </Group>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{[a.vendor, a.model].filter(Boolean).join(' ') || '—'}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" c={a.firmware ? undefined : 'dimmed'}>
                {a.firmware || '—'}
              </Text>
            </Table.Td>
            {connectable && (
              <Table.Td>
                <ConnectMenu assetId={a.id} assetName={a.name} methods={a.accessMethods} />
              </Table.Td>
            )}
            {admin && (
              <RowActions>
                <EditAction label={`Edit ${a.name}`} onClick={() => setForm({ asset: a })} />
                <DeleteAction label={`Delete ${a.name}`} onClick={() => del.ask([a])} />
              </RowActions>
            )}
          </Table.Tr>
        ))}
      </DataTable>
      <ListFooter list={list} noun="asset" />

      <AssetFormModal opened={form !== null} asset={form?.asset ?? null} defaultSiteId={f.siteId || undefined} onClose={() => setForm(null)} />
      <ImportModal opened={importOpen} onClose={() => setImportOpen(false)} onImported={onImported} />
      <ConfirmModal {...del.modal} title={deleting && deleting.length > 1 ? `Delete ${deleting.length} assets` : 'Delete asset'} confirmLabel="Delete">
        <Text size="sm">
          {deleting && deleting.length > 1 ? (
            <>
              Delete <b>{deleting.length}</b> assets ({deleting.slice(0, 5).map((a) => a.name).join(', ')}
              {deleting.length > 5 ? ', …' : ''})?
            </>
          ) : (
            <>
              Delete asset <b>{deleting?.[0]?.name}</b>? Its access grants go with it; recordings and the audit log stay.
            </>
          )}
        </Text>
      </ConfirmModal>
    </>
  );
}
