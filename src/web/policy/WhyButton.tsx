import { ActionIcon, Modal, Select, Stack, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ProblemAlert } from '../common/errors';
import { IconShield } from '../common/icons';
import { whyForMe } from './api';
import { DecisionView } from './DecisionView';

/** "Can I connect now, and if not, why?" for one of my assets (GET /me/assets/:id/why). */
export function WhyButton({ assetId, assetName, methods }: { assetId: string; assetName: string; methods: { protocol: string; port: number | null }[] }) {
  const [open, setOpen] = useState(false);
  const options = methods.map((m) => ({ value: `${m.protocol}:${m.port ?? ''}`, label: `${m.protocol.toUpperCase()}${m.port ? ` :${m.port}` : ''}` }));
  const [method, setMethod] = useState<string | null>(options[0]?.value ?? null);
  const [protocol, port] = (method ?? '').split(':');
  const q = useQuery({
    queryKey: ['policy', 'why', assetId, method],
    queryFn: () => whyForMe(assetId, protocol || undefined, port ? Number(port) : undefined),
    enabled: open,
    staleTime: 0,
  });
  return (
    <>
      <Tooltip label="Can I connect now?" withArrow>
        <ActionIcon variant="subtle" aria-label={`Check access to ${assetName}`} onClick={() => setOpen(true)} data-testid="why-button">
          <IconShield size={16} />
        </ActionIcon>
      </Tooltip>
      <Modal opened={open} onClose={() => setOpen(false)} title={<Text fw={600}>Access to {assetName}</Text>} size="lg" centered>
        <Stack gap="sm" data-testid="why-modal">
          {options.length > 1 && <Select label="Access" data={options} value={method} onChange={setMethod} w={180} />}
          <ProblemAlert error={q.error} title="Could not check" />
          {q.isPending && open ? (
            <Text size="sm" c="dimmed">
              Checking…
            </Text>
          ) : (
            q.data && <DecisionView d={q.data} />
          )}
        </Stack>
      </Modal>
    </>
  );
}
