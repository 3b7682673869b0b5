import { Radio, Stack, Text } from '@mantine/core';
import type { OversightSettings } from '../api/types';
import { Section } from '../common/ui';
import { SettingsForm } from './SettingsForm';
import { useSettingsForm } from './useSettingsForm';

const MODES: { value: OversightSettings['operators']; label: string; description: string }[] = [
  { value: 'all', label: 'Every Operator', description: 'Operators watch and moderate any live session.' },
  {
    value: 'granted',
    label: 'Operators, on assets their own grants reach',
    description: 'An Operator oversees only the sites, zones and assets granted to them or to their permission groups: a plant\u2019s operators watch their own plant.',
  },
  { value: 'none', label: 'Administrators only', description: 'Operators see the Active Sessions list but cannot watch or moderate.' },
];

/** System Management -> Live oversight: which Operators may watch ("over the shoulder") and moderate live sessions. */
export function OversightPage() {
  const f = useSettingsForm<OversightSettings>('/settings/oversight', 'oversight');

  return (
    <SettingsForm
      form={f}
      testId="oversight-form"
      title="Live oversight"
      description="Who may watch live sessions over the user's shoulder and moderate sessions that require a moderator. Administrators always may; terminating stays with Administrators."
      saveTestId="oversight-save"
      loadErrorTitle="Could not load the live oversight setting"
      saveErrorTitle="Live oversight not saved"
      inlinePaths={['/operators']}
      savedText="Saved. It applies to the next watch or moderation; watchers already connected stay."
      savedTestId="oversight-saved"
      skeletonHeight={240}
    >
      {(d) => (
        <Section title="Operators may watch and moderate" testId="oversight-section">
          <Radio.Group value={d.operators} onChange={(v) => f.set('operators', v as OversightSettings['operators'])}>
            <Stack gap="sm">
              {MODES.map((m) => (
                <Radio
                  key={m.value}
                  value={m.value}
                  label={m.label}
                  description={<Text size="xs" c="dimmed">{m.description}</Text>}
                  data-testid={`oversight-${m.value}`}
                />
              ))}
            </Stack>
          </Radio.Group>
        </Section>
      )}
    </SettingsForm>
  );
}
