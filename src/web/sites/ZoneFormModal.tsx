import { Button, Group, Modal, Select, Stack, Text, Textarea, TextInput } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import { PURDUE_LEVELS, SECURITY_LEVELS, type Zone } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';

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
    <Modal
      opened={opened}
      onClose={onClose}
      title={<Text fw={600}>{zone ? `Edit zone ${zone.name}` : `New zone in ${siteName}`}</Text>}
      size="lg"
      centered
    >
      <form onSubmit={submit} noValidate data-testid="zone-form">
        <Stack>
          <ProblemAlert error={save.error} inlinePaths={INLINE} title={zone ? 'Zone not saved' : 'Zone not created'} />
          <TextInput
            label="Name"
            description="e.g. Cell 3 control, Boiler house, OT DMZ"
            required
            data-autofocus
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fe.get('/name')}
            maxLength={128}
            data-testid="zone-name"
          />
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
          <Textarea
            label="Description"
            autosize
            minRows={2}
            maxRows={5}
            value={description}
            onChange={(e) => setDescription(e.currentTarget.value)}
            error={fe.get('/description')}
            data-testid="zone-description"
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending} disabled={!valid} data-testid="zone-save">
              {zone ? 'Save changes' : 'Create zone'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
