/** The access-request API as the console uses it (docs/requests.md); answer types are the server's own, type-only. */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { AccessRequest, LoginWindow, Protocol, ReachableAsset, RequestState } from '../api/types';

export type { AccessRequest, RequestState };

/** Exactly the fields POST /requests accepts (the server rejects unknown fields). */
export interface RequestInput {
  userId?: string;
  assets: string[];
  protocols: Protocol[];
  purpose: string;
  ticket?: string | null;
  start: string;
  durationMinutes?: number;
  recurrence?: { windows: LoginWindow[]; until: string };
  timeZone?: string;
}

export const REQUEST_STATE_COLOR: Record<RequestState, string> = {
  pending: 'yellow',
  approved: 'teal',
  denied: 'red',
  expired: 'gray',
  revoked: 'red',
  cancelled: 'gray',
};
export const REQUEST_STATE_LABEL: Record<RequestState, string> = {
  pending: 'Pending',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  revoked: 'Revoked',
  cancelled: 'Cancelled',
};
export const REQUEST_STATES: readonly RequestState[] = ['pending', 'approved', 'denied', 'expired', 'revoked', 'cancelled'];

/** Every request, list, inbox and count lives under this key root (one invalidation refreshes them all). */
const KEY = 'requests';

/** GET /requests/inbox: open requests and extensions I may decide and have not yet. */
export function useInbox(options: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: [KEY, 'inbox'],
    queryFn: ({ signal }) => api.get<{ items: AccessRequest[] }>('/requests/inbox', undefined, signal),
    refetchInterval: options.refetchInterval ?? 30_000,
  });
}

/** The inbox's size, shaped like useCount (the dashboard's Stat card and the navigation badge). */
export function useInboxCount() {
  return useQuery({
    queryKey: [KEY, 'inbox'],
    queryFn: ({ signal }) => api.get<{ items: AccessRequest[] }>('/requests/inbox', undefined, signal),
    select: (d) => ({ count: d.items.length, atLeast: d.items.length >= 500 }),
    refetchInterval: 30_000,
  });
}

/**
 * The assets a request may name: mine (GET /me/assets, any role), or, for an Administrator
 * requesting on behalf of someone, that user's (GET /users/:id/reachable-assets).
 */
export function useRequestableAssets(userId: string | null, enabled: boolean) {
  return useQuery({
    queryKey: ['assets', 'requestable', userId ?? 'me'],
    queryFn: ({ signal }) =>
      userId
        ? api.get<{ assets: ReachableAsset[] }>(`/users/${userId}/reachable-assets`, undefined, signal)
        : api.get<{ assets: ReachableAsset[] }>('/me/assets', undefined, signal),
    select: (d) => d.assets,
    enabled,
  });
}

/** A request mutation: refreshes every request list, the inbox and the dashboard count. */
export function useRequestMutation<TVars, TResult>(fn: (vars: TVars) => Promise<TResult>) {
  return useApiMutation(fn, ['requests']);
}

export const createRequest = (body: RequestInput) => api.post<AccessRequest>('/requests', body);
export const approveRequest = ({ id, comment }: { id: string; comment: string }) => api.post<AccessRequest>(`/requests/${id}/approve`, comment.trim() ? { comment } : {});
export const denyRequest = ({ id, comment }: { id: string; comment: string }) => api.post<AccessRequest>(`/requests/${id}/deny`, { comment });
export const cancelRequest = ({ id, comment }: { id: string; comment: string }) => api.post<AccessRequest>(`/requests/${id}/cancel`, comment.trim() ? { comment } : {});
export const revokeRequest = ({ id, comment }: { id: string; comment: string }) => api.post<AccessRequest>(`/requests/${id}/revoke`, { comment });
export const extendRequest = ({ id, end, until, comment }: { id: string; end?: string; until?: string; comment: string }) =>
  api.post<AccessRequest>(`/requests/${id}/extend`, { ...(end ? { end } : {}), ...(until ? { until } : {}), ...(comment.trim() ? { comment } : {}) });
