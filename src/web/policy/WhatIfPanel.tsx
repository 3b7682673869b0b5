import { Button, Group, Select, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { useAll } from '../api/hooks';
import type { Asset, User } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { IconPlayerPlay } from '../common/icons';
import { Section } from '../common/ui';
import { evaluate } from './api';
import { DecisionView } from './DecisionView';

/** The admin "what if": user x asset x protocol x time -> decision, reasons and constraints. */
export function WhatIfPanel() {
  const users = useAll<User>('users');
  const assets = useAll<Asset>('assets');
  const [userId, setUserId] = useState<string | null>(null);
  const [assetId, setAssetId] = useState<string | null>(null);
  const [method, setMethod] = useState<string | null>(null);
  const [at, setAt] = useState('');
  const run = useMutation({ mutationFn: evaluate });
  const asset = assets.data?.items.find((a) => a.id === assetId);
  const methods = useMemo(() => (asset?.accessMethods ?? []).map((m) => ({ value: `${m.protocol}:${m.port}`, label: `${m.protocol.toUpperCase()} :${m.port}` })), [asset]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!userId || !assetId) return;
    const chosen = method ?? methods[0]?.value;
    const [protocol, port] = (chosen ?? 'ssh:22').split(':');
    run.mutate({ userId, assetId, protocol: protocol!, port: Number(port), ...(at ? { at: new Date(at).toISOString() } : {}) });
  };

  return (
    <Section title="What if" description="Would this user be allowed to connect to this asset, and under which conditions? Every reason names the rule it comes from." testId="what-if">
      <form onSubmit={submit} noValidate data-testid="what-if-form">
        <Stack gap="sm">
          <Group align="flex-end" gap="sm" wrap="wrap">
            <Select
              label="User"
              searchable
              placeholder="Pick a user"
              data={(users.data?.items ?? []).map((u) => ({ value: u.id, label: `${u.username}${u.affiliation === 'vendor' ? ' (vendor)' : ''}` }))}
              value={userId}
              onChange={setUserId}
              w={240}
              data-testid="what-if-user"
            />
            <Select
              label="Asset"
              searchable
              placeholder="Pick an asset"
              data={(assets.data?.items ?? []).map((a) => ({ value: a.id, label: `${a.name} (L${a.purdueLevel}, ${a.siteName})` }))}
              value={assetId}
              onChange={(v) => {
                setAssetId(v);
                setMethod(null);
              }}
              w={280}
              data-testid="what-if-asset"
            />
            <Select label="Access" data={methods} value={method ?? methods[0]?.value ?? null} onChange={setMethod} w={150} disabled={!asset} data-testid="what-if-method" />
            <TextInput label="At (your time)" description="Empty: now" type="datetime-local" value={at} onChange={(e) => setAt(e.currentTarget.value)} w={210} data-testid="what-if-at" />
            <Button type="submit" leftSection={<IconPlayerPlay size={16} />} loading={run.isPending} disabled={!userId || !assetId} data-testid="what-if-run">
              Evaluate
            </Button>
          </Group>
          <ProblemAlert error={run.error} title="Not evaluated" />
          {run.data ? (
            <DecisionView d={run.data} />
          ) : (
            <Text size="sm" c="dimmed">
              Windows are evaluated in the asset's site time zone (or the rule's own zone).
            </Text>
          )}
        </Stack>
      </form>
    </Section>
  );
}
