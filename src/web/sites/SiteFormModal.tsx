import { Group, Input, NumberInput, SegmentedControl, Select } from '@mantine/core';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { Site, StreamQuality } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { DescriptionField, FormFooter, FormModal, NameField } from '../common/forms';

const browserZone = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
})();

function timeZones(): string[] {
  try {
    const list = Intl.supportedValuesOf('timeZone');
    return list.includes('UTC') ? list : ['UTC', ...list];
  } catch {
    return ['UTC'];
  }
}

interface Props {
  opened: boolean;
  site: Site | null;
  onClose: () => void;
  onSaved?: (site: Site) => void;
}

const INLINE = ['/name', '/description', '/timezone', '/streamQuality', '/maxConnections'];

export function SiteFormModal({ opened, site, onClose, onSaved }: Props) {
  const zones = useMemo(timeZones, []);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [timezone, setTimezone] = useState(browserZone);
  const [streamQuality, setStreamQuality] = useState<StreamQuality>('medium');
  const [maxConnections, setMaxConnections] = useState<number | string>(10);

  const save = useApiMutation(
    (body: Record<string, unknown>) => (site ? api.patch<Site>(`/sites/${site.id}`, body) : api.post<Site>('/sites', body)),
    ['sites', 'assets', 'zones'],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setName(site?.name ?? '');
    setDescription(site?.description ?? '');
    setTimezone(site?.timezone ?? browserZone);
    setStreamQuality(site?.streamQuality ?? 'medium');
    setMaxConnections(site?.maxConnections ?? 10);
  }, [opened, site]);

  const fe = fieldErrors(save.error);
  const maxOk = typeof maxConnections === 'number' && Number.isInteger(maxConnections) && maxConnections >= 1;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim() || !maxOk) return;
    save.mutate(
      { name: name.trim(), description: description.trim(), timezone, streamQuality, maxConnections },
      {
        onSuccess: (saved) => {
          onSaved?.(saved);
          onClose();
        },
      },
    );
  }

  return (
    <FormModal opened={opened} onClose={onClose} title={site ? `Edit site ${site.name}` : 'New site'} size="lg" testId="site-form" onSubmit={submit}>
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={site ? 'Site not saved' : 'Site not created'} />
      <NameField description="Unique, e.g. the plant or substation name" value={name} onChange={setName} error={fe.get('/name')} testId="site-name" />
      <DescriptionField value={description} onChange={setDescription} error={fe.get('/description')} maxRows={6} testId="site-description" />
      <Group grow align="flex-start">
        <Select
          label="Time zone"
          description="Used for login-time windows of this site's assets"
          searchable
          allowDeselect={false}
          data={zones}
          value={timezone}
          onChange={(v) => v && setTimezone(v)}
          error={fe.get('/timezone')}
          limit={200}
          nothingFoundMessage="No such time zone"
          data-testid="site-timezone"
        />
        <NumberInput
          label="Max concurrent connections"
          description="Sessions to this site at the same time"
          min={1}
          max={10000}
          allowDecimal={false}
          allowNegative={false}
          value={maxConnections}
          onChange={setMaxConnections}
          error={fe.get('/maxConnections') ?? (maxOk ? undefined : 'A whole number from 1')}
          data-testid="site-max-connections"
        />
      </Group>
      <Input.Wrapper label="Stream quality" description="Display sessions (VNC/RDP): lower quality saves bandwidth on thin links" error={fe.get('/streamQuality')}>
        <SegmentedControl
          mt={6}
          fullWidth
          value={streamQuality}
          onChange={(v) => setStreamQuality(v as StreamQuality)}
          data={[
            { value: 'low', label: 'Low' },
            { value: 'medium', label: 'Medium' },
            { value: 'high', label: 'High' },
          ]}
          data-testid="site-quality"
          aria-label="Stream quality"
        />
      </Input.Wrapper>
      <FormFooter
        mt="xs"
        onCancel={onClose}
        saving={save.isPending}
        disabled={!name.trim() || !maxOk}
        submitTestId="site-save"
        submitLabel={site ? 'Save changes' : 'Create site'}
      />
    </FormModal>
  );
}
