import type { GroupKind } from '../api/types';

export const KIND_LABEL: Record<GroupKind, string> = { permission: 'Permission', user_management: 'User management' };
export const KIND_COLOR: Record<GroupKind, string> = { permission: 'blue', user_management: 'grape' };
