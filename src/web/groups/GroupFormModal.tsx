import { Radio, Stack, Text } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import { GROUP_KINDS, type Group, type GroupKind } from '../api/types';
import { fieldErrors, ProblemAlert } from '../common/errors';
import { DescriptionField, FormFooter, FormModal, NameField } from '../common/forms';

const INLINE = ['/name', '/kind', '/description'];

/** Create or edit a group. The kind is chosen once, at creation. */
export function GroupFormModal({ opened, group, onClose }: { opened: boolean; group: Group | null; onClose: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<GroupKind>('permission');
  const [description, setDescription] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const save = useApiMutation(
    (body: { name: string; kind?: GroupKind; description: string }) => (group ? api.patch<Group>(`/groups/${group.id}`, { name: body.name, description: body.description }) : api.post<Group>('/groups', body)),
    ['groups'],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset the form whenever it opens
  useEffect(() => {
    if (!opened) return;
    save.reset();
    setSubmitted(false);
    setName(group?.name ?? '');
    setKind(group?.kind ?? 'permission');
    setDescription(group?.description ?? '');
  }, [opened, group]);

  const fe = fieldErrors(save.error);
  const nameProblem = !name.trim() ? 'Required' : undefined;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (nameProblem) return;
    save.mutate({ name: name.trim(), kind, description: description.trim() }, { onSuccess: onClose });
  };

  return (
    <FormModal opened={opened} onClose={onClose} title={group ? `Edit group ${group.name}` : 'New group'} size="md" testId="group-form" onSubmit={submit}>
      <ProblemAlert error={save.error} inlinePaths={INLINE} title={group ? 'Group not saved' : 'Group not created'} />
      <NameField description="Unique, e.g. “Line 3 maintenance (Siemens)”" value={name} onChange={setName} error={fe.get('/name') ?? (submitted ? nameProblem : undefined)} testId="group-name" />
      <Radio.Group label="Kind" value={kind} onChange={(v) => setKind(v as GroupKind)} error={fe.get('/kind')} data-testid="group-kind">
        <Stack gap="xs" mt={6}>
          {GROUP_KINDS.map((k) => (
            <Radio
              key={k.value}
              value={k.value}
              disabled={!!group && group.kind !== k.value}
              label={k.label}
              description={k.help}
              data-testid={`group-kind-${k.value}`}
            />
          ))}
        </Stack>
      </Radio.Group>
      {group && (
        <Text size="xs" c="dimmed">
          The kind cannot be changed: create a new group instead.
        </Text>
      )}
      <DescriptionField value={description} onChange={setDescription} error={fe.get('/description')} testId="group-description" />
      <FormFooter onCancel={onClose} submitLabel={group ? 'Save changes' : 'Create group'} submitTestId="group-save" saving={save.isPending} feedback={{ error: save.error, invalid: submitted && !!nameProblem }} />
    </FormModal>
  );
}
