import { Select } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import { PURDUE_LEVELS, SECURITY_LEVELS, type Zone } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { DescriptionField, FormFooter, FormModal, NameField } from '../common/forms';

export const PURDUE_OPTIONS = PURDUE_LEVELS.map((l) => ({ value: String(l.value), label: l.label }));
export const SL_OPTIONS = SECURITY_LEVELS.map((l) => ({ value: String(l.value), label: l.label }));

const INLINE = ['/name', '/purdueLevel', '/targetSecurityLevel', '/description'];

interface Props {
  opened: boolean;
  siteId: string;
  siteName: string;
  zone: Zone | null;
  onClose: () => void;
}

export function ZoneFormModal({ opened, siteId, siteName, zone, onClose }: Props) {
  const [name, setName] = useState('');
  const [level, setLevel] = useState<string | null>(null);
  const [sl, setSl] = useState<string>('2');
  const [description, setDescription] = useState('');
  const save = useApiMutation(
    (body: Record<string, unknown>) => (zone ? api.patch<Zone>(`/zones/${zone.id}`, body) : api.post<Zone>('/zones', { siteId, ...body })),
    ['zones', 'assets'],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setName(zone?.name ?? '');
    setLevel(zone ? String(zone.purdueLevel) : null);
    setSl(zone ? String(zone.targetSecurityLevel) : '2');
    setDescription(zone?.description ?? '');
  }, [opened, zone]);

  const fe = fieldErrors(save.error);
  const valid = name.trim() !== '' && level !== null;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!valid) return;
    save.mutate(
      { name: name.trim(), purdueLevel: Number(level), targetSecurityLevel: Number(sl), description: description.trim() },
      { onSuccess: onClose },
    );
  }

  return (
    <FormModal
      opened={opened}
      onClose={onClose}
      title={zone ? `Edit zone ${zone.name}` : `New zone in ${siteName}`}
      size="lg"
      testId="zone-form"
      onSubmit={submit}
    >
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={zone ? 'Zone not saved' : 'Zone not created'} />
      <NameField description="e.g. Cell 3 control, Boiler house, OT DMZ" value={name} onChange={setName} error={fe.get('/name')} testId="zone-name" />
      <Select
        label="Purdue level"
        description="Assets placed in this zone take this level"
        required
        allowDeselect={false}
        data={PURDUE_OPTIONS}
        value={level}
        onChange={setLevel}
        error={fe.get('/purdueLevel')}
        placeholder="Choose a level"
        data-testid="zone-purdue-level"
      />
      <Select
        label="Target security level (IEC 62443)"
        required
        allowDeselect={false}
        data={SL_OPTIONS}
        value={sl}
        onChange={(v) => v && setSl(v)}
        error={fe.get('/targetSecurityLevel')}
        data-testid="zone-security-level"
      />
      <DescriptionField value={description} onChange={setDescription} error={fe.get('/description')} testId="zone-description" />
      <FormFooter onCancel={onClose} saving={save.isPending} disabled={!valid} submitTestId="zone-save" submitLabel={zone ? 'Save changes' : 'Create zone'} />
    </FormModal>
  );
}
