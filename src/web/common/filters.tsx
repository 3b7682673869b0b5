import { Button, CloseButton, Group, TextInput, type TextInputProps } from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { IconSearch } from './icons';

/**
 * List filters live in the URL (?name=..&siteId=..), so a filtered view can be bookmarked, shared
 * with a colleague, and survives a reload.
 */
export function useUrlFilters<K extends string>(keys: readonly K[], defaults: Partial<Record<K, string>> = {}) {
  const [params, setParams] = useSearchParams();
  // Keys and defaults are fixed per page: keep the first ones.
  const cfg = useRef({ keys, defaults }).current;
  const values = useMemo(() => {
    const out = {} as Record<K, string>;
    for (const k of cfg.keys) out[k] = params.get(k) ?? cfg.defaults[k] ?? '';
    return out;
  }, [params, cfg]);
  const set = useCallback(
    (patch: Partial<Record<K, string | null>>) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(patch) as [K, string | null | undefined][]) {
            if (v === null || v === undefined || v === '' || v === cfg.defaults[k]) next.delete(k);
            else next.set(k, v);
          }
          return next;
        },
        { replace: true },
      );
    },
    [setParams, cfg],
  );
  const active = keys.some((k) => values[k] !== (defaults[k] ?? ''));
  return { values, set, active };
}

type FilterTextProps = Omit<TextInputProps, 'value' | 'onChange'> & {
  value: string;
  onChange: (value: string) => void;
};

/** Text filter that types instantly and pushes its value out after a short pause. */
export function FilterText({ value, onChange, ...rest }: FilterTextProps) {
  const [local, setLocal] = useState(value);
  const push = useDebouncedCallback(onChange, 250);
  useEffect(() => setLocal(value), [value]);
  return (
    <TextInput
      leftSection={<IconSearch size={15} />}
      value={local}
      onChange={(e) => {
        setLocal(e.currentTarget.value);
        push(e.currentTarget.value.trim());
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          push.cancel();
          onChange(local.trim());
        }
      }}
      rightSection={
        local ? (
          <CloseButton
            size="sm"
            aria-label={`Clear ${typeof rest.label === 'string' ? rest.label : 'filter'}`}
            onClick={() => {
              push.cancel();
              setLocal('');
              onChange('');
            }}
          />
        ) : null
      }
      {...rest}
    />
  );
}

/** The row of a list's filters, then "Clear filters" while any is set (`active`). */
export function FilterBar({ active, onClear, mb = 'md', children }: { active?: boolean; onClear?: () => void; mb?: 'md' | 0; children: ReactNode }) {
  return (
    <Group mb={mb} align="flex-end" gap="sm">
      {children}
      {active && onClear && (
        <Button variant="subtle" color="gray" onClick={onClear}>
          Clear filters
        </Button>
      )}
    </Group>
  );
}
