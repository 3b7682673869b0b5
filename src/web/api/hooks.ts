import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type Query, api, apiUrl } from './client';
import type { Page, Site, Vendor, Zone } from './types';

/** Paginated lists (useList / useAll / useCount). */
export type Resource = 'sites' | 'zones' | 'assets' | 'users' | 'vendors' | 'groups' | 'sessions' | 'requests' | 'audit';
/** Query-key roots a mutation may refresh: the lists above and the non-paginated documents. */
export type CacheKey = Resource | 'me' | 'settings' | 'tokens' | 'ldap-domains' | 'vault' | 'host-keys';

export const PAGE_SIZE = 50;

/** One paginated list (cursor "load more"), keyed by resource and filters. */
export function useList<T>(resource: Resource, filters: Query, options: { enabled?: boolean; refetchInterval?: number; staleTime?: number } = {}) {
  const query = useInfiniteQuery({
    queryKey: [resource, 'list', filters],
    queryFn: ({ pageParam, signal }) => api.get<Page<T>>(`/${resource}`, { ...filters, limit: PAGE_SIZE, cursor: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: keepPreviousData,
    enabled: options.enabled ?? true,
    refetchInterval: options.refetchInterval,
    ...(options.staleTime !== undefined ? { staleTime: options.staleTime } : {}),
  });
  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  return { ...query, items };
}

/** Every item of a small list (for select boxes); follows cursors up to `max` items. */
async function fetchAll<T>(resource: Resource, filters: Query, max: number, signal?: AbortSignal): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<Page<T>>(`/${resource}`, { ...filters, limit: 500, cursor }, signal);
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < max);
  return { items, truncated: cursor !== undefined };
}

export function useAll<T>(resource: Resource, filters: Query = {}, options: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: [resource, 'all', filters],
    queryFn: ({ signal }) => fetchAll<T>(resource, filters, 5000, signal),
    enabled: options.enabled ?? true,
    staleTime: 30_000,
  });
}

export const useAllSites = () => useAll<Site>('sites');
export const useSiteZones = (siteId: string | null | undefined) => useAll<Zone>('zones', { siteId: siteId ?? '' }, { enabled: !!siteId });
export const useVendors = (enabled = true) => useAll<Vendor>('vendors', {}, { enabled });

/** Counts a list by paging through it (the list API has no total); stops at `max`. */
export function useCount(resource: Resource, filters: Query = {}, options: { enabled?: boolean; max?: number } = {}) {
  const max = options.max ?? 10_000;
  return useQuery({
    enabled: options.enabled ?? true,
    queryKey: [resource, 'count', filters],
    queryFn: async ({ signal }) => {
      const res = await fetchAll<unknown>(resource, filters, max, signal);
      return { count: res.items.length, atLeast: res.truncated };
    },
    staleTime: 15_000,
  });
}

/** A mutation that refreshes the given resources' lists when it succeeds. */
export function useApiMutation<TVars, TResult>(fn: (vars: TVars) => Promise<TResult>, invalidates: CacheKey[]) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: async () => {
      await Promise.all(invalidates.map((r) => qc.invalidateQueries({ queryKey: [r] })));
    },
  });
}

/** Link for the CSV export of a list with the current filters. */
export function csvHref(resource: Resource, filters: Query): string {
  return apiUrl(`/${resource}`, { format: 'csv', ...filters });
}
