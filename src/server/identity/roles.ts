export const ROLES = ['Administrator', 'Operator', 'Client'] as const;
export type Role = (typeof ROLES)[number];

/** Higher rank, more rights: a token or mapping never gets more than its creator or source. */
export const ROLE_RANK: Record<Role, number> = { Client: 1, Operator: 2, Administrator: 3 };
