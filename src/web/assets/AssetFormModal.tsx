import {
  ActionIcon,
  Button,
  type ButtonProps,
  Checkbox,
  Divider,
  Group,
  Input,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { type ComponentPropsWithoutRef, type FormEvent, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import { useAllSites, useApiMutation, useSiteZones } from '../api/hooks';
import {
  type AccessMethod,
  type Asset,
  type AssetInput,
  DAYS,
  DEFAULT_PORTS,
  type Day,
  type LoginWindow,
  PROTOCOL_LABELS,
  PROTOCOLS,
  type Protocol,
  purdueLabel,
} from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { DescriptionField, FormFooter, FormModal, NameField } from '../common/forms';
import { IconPlus, IconShield, IconTrash } from '../common/icons';
import { DayChips } from '../common/WeeklyWindow';
import { PURDUE_OPTIONS } from '../sites/ZoneFormModal';

interface MethodRow {
  key: number;
  protocol: Protocol;
  port: number | '';
  options: AccessMethod['options'];
}

interface WindowRow {
  key: number;
  days: Day[];
  start: string;
  end: string;
}

export const PROTOCOL_OPTIONS = PROTOCOLS.map((p) => ({ value: p, label: PROTOCOL_LABELS[p] }));
const WORKDAYS: Day[] = ['mon', 'tue', 'wed', 'thu', 'fri'];

const INLINE = ['/name', '/siteId', '/zoneId', '/purdueLevel', '/host', '/tags', '/vendor', '/model', '/firmware', '/description', '/accessMethods', '/loginTimes'];

export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,;]/)
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

interface Props {
  opened: boolean;
  asset: Asset | null;
  /** Preselected site for a new asset (e.g. the list's site filter). */
  defaultSiteId?: string;
  onClose: () => void;
  onSaved?: (asset: Asset) => void;
}

export function AssetFormModal({ opened, asset, defaultSiteId, onClose, onSaved }: Props) {
  const keyRef = useRef(0);
  const nextKey = () => ++keyRef.current;
  const sites = useAllSites();

  const [name, setName] = useState('');
  const [siteId, setSiteId] = useState<string | null>(null);
  const [zoneId, setZoneId] = useState<string | null>(null);
  const [level, setLevel] = useState<string | null>(null);
  const [host, setHost] = useState('');
  const [methods, setMethods] = useState<MethodRow[]>([]);
  const [tags, setTags] = useState('');
  const [safetyCritical, setSafetyCritical] = useState(false);
  const [vendor, setVendor] = useState('');
  const [model, setModel] = useState('');
  const [firmware, setFirmware] = useState('');
  const [description, setDescription] = useState('');
  const [restrictTimes, setRestrictTimes] = useState(false);
  const [windows, setWindows] = useState<WindowRow[]>([]);
  const [submitted, setSubmitted] = useState(false);

  const zones = useSiteZones(siteId);
  const zone = zones.data?.items.find((z) => z.id === zoneId) ?? null;

  const save = useApiMutation(
    (body: AssetInput) => (asset ? api.patch<Asset>(`/assets/${asset.id}`, body) : api.post<Asset>('/assets', body)),
    ['assets'],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setSubmitted(false);
    setName(asset?.name ?? '');
    setSiteId(asset?.siteId ?? defaultSiteId ?? null);
    setZoneId(asset?.zoneId ?? null);
    setLevel(asset ? String(asset.purdueLevel) : null);
    setHost(asset?.host ?? '');
    setMethods(
      asset?.accessMethods.length
        ? asset.accessMethods.map((m) => ({ key: nextKey(), protocol: m.protocol, port: m.port, options: m.options ?? {} }))
        : [{ key: nextKey(), protocol: 'ssh', port: 22, options: {} }],
    );
    setTags(asset?.tags.join(', ') ?? '');
    setSafetyCritical(asset?.safetyCritical ?? false);
    setVendor(asset?.vendor ?? '');
    setModel(asset?.model ?? '');
    setFirmware(asset?.firmware ?? '');
    setDescription(asset?.description ?? '');
    setRestrictTimes(!!asset?.loginTimes?.length);
    setWindows((asset?.loginTimes ?? []).map((w) => ({ key: nextKey(), days: [...w.days], start: w.start, end: w.end })));
  }, [opened, asset]);

  // Single-site installations: preselect the only site.
  useEffect(() => {
    if (opened && !asset && !siteId && sites.data?.items.length === 1) setSiteId(sites.data.items[0]?.id ?? null);
  }, [opened, asset, siteId, sites.data]);

  const fe = fieldErrors(save.error);
  const methodError = (i: number, field: 'protocol' | 'port') => fe.get(`/accessMethods/${i}/${field}`) ?? fe.get(`/accessMethods/${i}`);

  // Client-side checks (the gateway checks again and has the last word).
  const problems = {
    name: !name.trim() ? 'Required' : undefined,
    site: !siteId ? 'Choose a site' : undefined,
    level: !zoneId && level === null ? 'Required when the asset is not in a zone' : undefined,
    host: !host.trim() ? 'Required' : undefined,
    methods: methods.length === 0 ? 'Add at least one access method' : undefined,
    ports: methods.map((m) => (m.port === '' ? (DEFAULT_PORTS[m.protocol] === null ? 'Port required' : undefined) : m.port < 1 || m.port > 65535 ? '1-65535' : undefined)),
    windows: restrictTimes
      ? windows.map((w) => (w.days.length === 0 ? 'Pick at least one day' : !w.start || !w.end ? 'Start and end required' : w.start >= w.end ? 'Start must be before end' : undefined))
      : [],
  };
  const invalid =
    !!problems.name || !!problems.site || !!problems.level || !!problems.host || !!problems.methods || problems.ports.some(Boolean) || problems.windows.some(Boolean);
  const show = (msg: string | undefined) => (submitted ? msg : undefined);

  function setMethod(i: number, patch: Partial<MethodRow>) {
    setMethods((rows) =>
      rows.map((r, j) => {
        if (j !== i) return r;
        const next = { ...r, ...patch };
        // Switching protocol moves a default (or empty) port to the new protocol's default.
        if (patch.protocol && patch.protocol !== r.protocol && (r.port === '' || r.port === DEFAULT_PORTS[r.protocol])) {
          next.port = DEFAULT_PORTS[patch.protocol] ?? '';
        }
        return next;
      }),
    );
  }

  const newWindow = (): WindowRow => ({ key: nextKey(), days: [...WORKDAYS], start: '07:00', end: '17:00' });
  const setWindow = (i: number, patch: Partial<WindowRow>) => setWindows((rows) => rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  function body(): AssetInput {
    const b: AssetInput = {
      name: name.trim(),
      siteId: siteId ?? '',
      zoneId: zoneId,
      host: host.trim(),
      accessMethods: methods.map((m) => ({
        protocol: m.protocol,
        ...(m.port === '' ? {} : { port: m.port }),
        ...(Object.keys(m.options).length ? { options: m.options } : {}),
      })),
      tags: parseTags(tags),
      safetyCritical,
      loginTimes: restrictTimes && windows.length ? windows.map((w): LoginWindow => ({ days: DAYS.filter((d) => w.days.includes(d)), start: w.start, end: w.end })) : null,
      vendor: vendor.trim(),
      model: model.trim(),
      firmware: firmware.trim(),
      description: description.trim(),
    };
    if (!zoneId && level !== null) b.purdueLevel = Number(level);
    return b;
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) return;
    save.mutate(body(), {
      onSuccess: (saved) => {
        onSaved?.(saved);
        onClose();
      },
    });
  }

  const siteOptions = (sites.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }));
  const zoneOptions = (zones.data?.items ?? []).map((z) => ({ value: z.id, label: `${z.name} (${purdueLabel(z.purdueLevel).split(' – ')[0]})` }));

  return (
    <FormModal
      opened={opened}
      onClose={onClose}
      title={asset ? `Edit asset ${asset.name}` : 'New asset'}
      size="xl"
      closeOnClickOutside={false}
      testId="asset-form"
      onSubmit={submit}
      gap="sm"
    >
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={asset ? 'Asset not saved' : 'Asset not created'} />
      {sites.data && sites.data.items.length === 0 && (
        <Text size="sm" c="red">
          There are no sites yet. Create a site first.
        </Text>
      )}
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <NameField description="Unique, e.g. PLC-Line3-01" value={name} onChange={setName} error={fe.get('/name') ?? show(problems.name)} testId="asset-name" />
        <TextInput
          label="Host"
          description="IP address or DNS name as seen from the gateway or relay"
          required
          value={host}
          onChange={(e) => setHost(e.currentTarget.value)}
          error={fe.get('/host') ?? show(problems.host)}
          maxLength={253}
          spellCheck={false}
          data-testid="asset-host"
        />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Select
          label="Site"
          required
          searchable
          allowDeselect={false}
          data={siteOptions}
          value={siteId}
          onChange={(v) => {
            if (v !== siteId) setZoneId(null);
            setSiteId(v);
          }}
          placeholder={sites.isPending ? 'Loading…' : 'Choose a site'}
          nothingFoundMessage="No such site"
          error={fe.get('/siteId') ?? show(problems.site)}
          data-testid="asset-site"
        />
        <Select
          label="Zone"
          description={siteId ? undefined : 'Choose a site first'}
          clearable
          searchable
          disabled={!siteId}
          data={zoneOptions}
          value={zoneId}
          onChange={setZoneId}
          placeholder={siteId && zones.data?.items.length === 0 ? 'Site has no zones' : 'No zone'}
          nothingFoundMessage="No such zone"
          error={fe.get('/zoneId')}
          data-testid="asset-zone"
        />
        <Select
          label="Purdue level"
          description={zone ? `Taken from zone ${zone.name}` : undefined}
          required={!zoneId}
          disabled={!!zoneId}
          allowDeselect={false}
          data={PURDUE_OPTIONS}
          value={zone ? String(zone.purdueLevel) : level}
          onChange={setLevel}
          placeholder="Choose a level"
          error={fe.get('/purdueLevel') ?? show(problems.level)}
          comboboxProps={{ width: 340, position: 'bottom-end' }}
          data-testid="asset-purdue-level"
        />
      </SimpleGrid>

      <Input.Wrapper
        label="Access methods"
        required
        description="How the gateway connects to the asset. Users never get a network path to it."
        error={fe.get('/accessMethods') ?? show(problems.methods)}
      >
        <Stack gap={6} mt={6} data-testid="access-methods">
          {methods.map((m, i) => (
            <Group key={m.key} gap="xs" align="flex-start" wrap="nowrap" data-testid={`access-method-${i}`}>
              <Select
                aria-label={`Protocol ${i + 1}`}
                allowDeselect={false}
                data={PROTOCOL_OPTIONS}
                value={m.protocol}
                onChange={(v) => v && setMethod(i, { protocol: v as Protocol })}
                error={methodError(i, 'protocol')}
                w={170}
                data-testid={`access-protocol-${i}`}
              />
              <NumberInput
                aria-label={`Port ${i + 1}`}
                placeholder={DEFAULT_PORTS[m.protocol] === null ? 'Port (required)' : `Port (${DEFAULT_PORTS[m.protocol]})`}
                min={1}
                max={65535}
                allowDecimal={false}
                allowNegative={false}
                hideControls
                value={m.port}
                onChange={(v) => setMethod(i, { port: typeof v === 'number' ? v : v === '' ? '' : Number(v) })}
                error={fe.get(`/accessMethods/${i}/port`) ?? show(problems.ports[i])}
                w={150}
                data-testid={`access-port-${i}`}
              />
              <Tooltip label="Remove access method" withArrow>
                <ActionIcon
                  variant="subtle"
                  color="red"
                  size="lg"
                  aria-label={`Remove access method ${i + 1}`}
                  onClick={() => setMethods((rows) => rows.filter((_, j) => j !== i))}
                  disabled={methods.length === 1}
                  data-testid={`access-remove-${i}`}
                >
                  <IconTrash size={17} />
                </ActionIcon>
              </Tooltip>
            </Group>
          ))}
          <Group>
            <AddRowButton
              onClick={() => {
                const used = new Set(methods.map((m) => m.protocol));
                const protocol = PROTOCOLS.find((p) => !used.has(p)) ?? 'tcp';
                setMethods((rows) => [...rows, { key: nextKey(), protocol, port: DEFAULT_PORTS[protocol] ?? '', options: {} }]);
              }}
              disabled={methods.length >= 16}
              data-testid="access-add"
            >
              Add access method
            </AddRowButton>
          </Group>
        </Stack>
      </Input.Wrapper>

      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label="Tags"
          description="Comma separated, e.g. line3, siemens, s7"
          value={tags}
          onChange={(e) => setTags(e.currentTarget.value)}
          error={fe.get('/tags') ?? [...fe.entries()].find(([p]) => p.startsWith('/tags/'))?.[1]}
          data-testid="asset-tags"
        />
        <Checkbox
          mt={{ base: 0, sm: 30 }}
          label={
            <Group gap={6}>
              <IconShield size={15} />
              Safety-critical
            </Group>
          }
          description="Safety instrumented systems and assets whose misuse can hurt people or plant"
          checked={safetyCritical}
          onChange={(e) => setSafetyCritical(e.currentTarget.checked)}
          color="red"
          data-testid="asset-safety-critical"
        />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <TextInput label="Vendor" value={vendor} onChange={(e) => setVendor(e.currentTarget.value)} error={fe.get('/vendor')} maxLength={128} data-testid="asset-vendor" />
        <TextInput label="Model" value={model} onChange={(e) => setModel(e.currentTarget.value)} error={fe.get('/model')} maxLength={128} data-testid="asset-model" />
        <TextInput
          label="Firmware"
          value={firmware}
          onChange={(e) => setFirmware(e.currentTarget.value)}
          error={fe.get('/firmware')}
          maxLength={128}
          data-testid="asset-firmware"
        />
      </SimpleGrid>
      <DescriptionField value={description} onChange={setDescription} error={fe.get('/description')} testId="asset-description" />

      <Divider />
      <Switch
        label="Restrict logins to time windows"
        description="Outside these windows (site time zone) nobody can open a session to this asset"
        checked={restrictTimes}
        onChange={(e) => {
          const on = e.currentTarget.checked;
          setRestrictTimes(on);
          if (on && windows.length === 0) setWindows([newWindow()]);
        }}
        data-testid="asset-restrict-times"
      />
      {restrictTimes && (
        <Stack gap={6} data-testid="login-windows">
          {fe.get('/loginTimes') && (
            <Text size="xs" c="red">
              {fe.get('/loginTimes')}
            </Text>
          )}
          {windows.map((w, i) => (
            <Group key={w.key} gap="xs" wrap="wrap" align="center">
              <DayChips value={w.days} onChange={(days) => setWindow(i, { days })} />
              <TimeField label={`Window ${i + 1} start`} value={w.start} onChange={(start) => setWindow(i, { start })} />
              <Text size="xs">to</Text>
              <TimeField label={`Window ${i + 1} end`} value={w.end} onChange={(end) => setWindow(i, { end })} />
              <ActionIcon variant="subtle" color="red" aria-label={`Remove window ${i + 1}`} onClick={() => setWindows((rows) => rows.filter((_, j) => j !== i))}>
                <IconTrash size={15} />
              </ActionIcon>
              {(show(problems.windows[i]) ?? [...fe.entries()].find(([p]) => p.startsWith(`/loginTimes/${i}`))?.[1]) && (
                <Text size="xs" c="red">
                  {show(problems.windows[i]) ?? [...fe.entries()].find(([p]) => p.startsWith(`/loginTimes/${i}`))?.[1]}
                </Text>
              )}
            </Group>
          ))}
          <Group>
            <AddRowButton onClick={() => setWindows((rows) => [...rows, newWindow()])}>Add window</AddRowButton>
            {windows.length === 0 && (
              <Text size="xs" c="dimmed">
                No windows: logins are not restricted.
              </Text>
            )}
          </Group>
        </Stack>
      )}

      <FormFooter
        mt="xs"
        feedback={{ error: save.error, invalid: submitted && invalid }}
        onCancel={onClose}
        saving={save.isPending}
        submitTestId="asset-save"
        submitLabel={asset ? 'Save changes' : 'Create asset'}
      />
    </FormModal>
  );
}

function TimeField({ label, value, onChange }: { label: string; value: string; onChange: (value: string) => void }) {
  return <TextInput type="time" aria-label={label} value={value} onChange={(e) => onChange(e.currentTarget.value)} w={110} size="xs" />;
}

function AddRowButton(props: ButtonProps & ComponentPropsWithoutRef<'button'>) {
  return <Button variant="subtle" size="xs" leftSection={<IconPlus size={14} />} {...props} />;
}
