import { Badge, Group, Paper, Stack, Text, UnstyledButton } from '@mantine/core';
import { formatClock } from '../common/format';

/** A recording's markers (watchers, warnings, the red button) with their time; a click seeks there (seconds). */
export function MarkerList({ markers, seek }: { markers: { t: number; label: string }[]; seek: (t: number) => void }) {
  if (markers.length === 0) return null;
  return (
    <Paper withBorder radius="md" p="sm" data-testid="player-markers">
      <Text size="xs" fw={600} c="dimmed" tt="uppercase" mb={4}>
        Markers
      </Text>
      <Stack gap={2}>
        {markers.map((m, i) => (
          <UnstyledButton key={`${m.t}-${i}`} onClick={() => seek(m.t)} data-testid="player-marker">
            <Group gap="xs" wrap="nowrap">
              <Badge size="sm" variant="light" ff="monospace">
                {formatClock(m.t)}
              </Badge>
              <Text size="sm">{m.label}</Text>
            </Group>
          </UnstyledButton>
        ))}
      </Stack>
    </Paper>
  );
}
