/** The policy API as the console uses it (docs/policy.md); answer types are the server's own, type-only. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { LevelDefault, LevelKey, PolicyDefaults } from '../../server/policy/defaults';
import type { Constraints, Outcome } from '../../server/policy/decide';
import type { Evaluation } from '../../server/policy/evaluate';
import type { PolicyRule, RuleSpec } from '../../server/policy/rules';
import { api, request } from '../api/client';
import type { Page } from '../api/types';

export type { Constraints, Evaluation, LevelDefault, LevelKey, Outcome, PolicyDefaults, PolicyRule };

/** What POST /policy/rules accepts (the server fills the defaults). */
export type RuleInput = Omit<RuleSpec, 'approvals'> & { approvals: { required: number; groupId: string | null } };

export const LEVEL_KEYS: readonly LevelKey[] = ['0', '1', '2', '3', '3.5', '4', '5'];
export const LEVEL_LABEL: Record<LevelKey, string> = {
  '0': 'Level 0 (process)',
  '1': 'Level 1 (basic control)',
  '2': 'Level 2 (supervisory)',
  '3': 'Level 3 (operations)',
  '3.5': 'Level 3.5 (OT DMZ)',
  '4': 'Level 4 (business)',
  '5': 'Level 5 (enterprise)',
};

export const OUTCOME_COLOR: Record<Outcome, string> = { allow: 'teal', require_approval: 'orange', deny: 'red' };
export const OUTCOME_LABEL: Record<Outcome, string> = { allow: 'Allowed', require_approval: 'Approval required', deny: 'Denied' };

const KEY = ['policy'];

export function useRules() {
  return useQuery({
    queryKey: [...KEY, 'rules'],
    queryFn: async ({ signal }) => {
      const items: PolicyRule[] = [];
      let cursor: string | undefined;
      do {
        const page = await api.get<Page<PolicyRule>>('/policy/rules', { limit: 500, cursor }, signal);
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return items.sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
    },
  });
}

export function useDefaults() {
  return useQuery({ queryKey: [...KEY, 'defaults'], queryFn: ({ signal }) => api.get<PolicyDefaults & { recommended: Record<LevelKey, LevelDefault> }>('/policy/defaults', undefined, signal) });
}

/** A policy mutation: refreshes rules and defaults when it succeeds. */
export function usePolicyMutation<TVars, TResult>(fn: (vars: TVars) => Promise<TResult>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: KEY }) });
}

export const saveRule = ({ id, body }: { id: string | null; body: Partial<RuleInput> }) => (id ? api.patch<PolicyRule>(`/policy/rules/${id}`, body) : api.post<PolicyRule>('/policy/rules', body));
export const deleteRule = (rule: PolicyRule) => api.delete(`/policy/rules/${rule.id}`);
export const saveDefaults = (body: { enabled?: boolean; levels?: Partial<Record<LevelKey, Partial<LevelDefault>>> }) => request<PolicyDefaults>('PUT', '/policy/defaults', { json: body });
export const evaluate = (body: { userId: string; assetId: string; protocol: string; port?: number; at?: string }) => api.post<Evaluation>('/policy/evaluate', body);
export const whyForMe = (assetId: string, protocol?: string, port?: number) => api.get<Evaluation>(`/me/assets/${assetId}/why`, { protocol, port });
