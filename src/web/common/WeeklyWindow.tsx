import { ActionIcon, Chip, Group, Text, TextInput } from '@mantine/core';
import { DAYS, type Day } from '../api/types';
import { IconTrash } from './icons';

export const DAY_LABEL: Record<Day, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** The weekdays of a weekly window as chips, always in week order. */
export function DayChips({ value, onChange }: { value: Day[]; onChange: (days: Day[]) => void }) {
  return (
    <Chip.Group multiple value={value} onChange={(v) => onChange(DAYS.filter((d) => (v as Day[]).includes(d)))}>
      <Group gap={4}>
        {DAYS.map((d) => (
          <Chip key={d} value={d} size="xs" variant="outline">
            {DAY_LABEL[d]}
          </Chip>
        ))}
      </Group>
    </Chip.Group>
  );
}

export interface WeeklyWindowValue {
  days: Day[];
  start: string;
  end: string;
}

/**
 * One weekly window (days, from, to, remove) of a rule or a recurring request. `labels` name the
 * two times for screen readers (and tests); `testIds` tag the row and the time inputs.
 */
export function WeeklyWindowRow({
  index,
  value,
  onChange,
  onRemove,
  labels = ['start', 'end'],
  testIds,
}: {
  index: number;
  value: WeeklyWindowValue;
  onChange: (patch: Partial<WeeklyWindowValue>) => void;
  onRemove: () => void;
  labels?: [string, string];
  testIds?: { row: string; start?: string; end?: string };
}) {
  return (
    <Group gap="xs" wrap="wrap" data-testid={testIds?.row}>
      <DayChips value={value.days} onChange={(days) => onChange({ days })} />
      <TextInput type="time" aria-label={`Window ${index + 1} ${labels[0]}`} value={value.start} onChange={(e) => onChange({ start: e.currentTarget.value })} w={110} size="xs" data-testid={testIds?.start} />
      <Text size="xs">to</Text>
      <TextInput type="time" aria-label={`Window ${index + 1} ${labels[1]}`} value={value.end} onChange={(e) => onChange({ end: e.currentTarget.value })} w={110} size="xs" data-testid={testIds?.end} />
      <ActionIcon variant="subtle" color="red" aria-label={`Remove window ${index + 1}`} onClick={onRemove}>
        <IconTrash size={15} />
      </ActionIcon>
    </Group>
  );
}
