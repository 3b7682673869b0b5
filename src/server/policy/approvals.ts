import type { Executor } from '../db/index.js';
import type { Protocol } from '../inventory/assets.js';

/**
 * THE HOOK for the access-request workflow (issue 6, part 2). When the rules demand approvals,
 * decide() asks here for an approved request that covers this user, asset, protocol and instant;
 * if one is found and its approvals satisfy the rules (enough distinct approvers, none of them the
 * requester, each from the approver group when the rules name one), the outcome is allow and the
 * session may last at most until the request's window ends.
 *
 * Today nothing registers a source, so require_approval stays require_approval. The request
 * workflow registers one at start-up (setApprovedRequestSource) that reads its own tables;
 * callers may also pass `approvedRequest` to decide() directly. Policy never imports the request
 * module (dependencies point inward).
 */
export interface ApprovedRequest {
  id: string;
  /** Who asked (the user who will connect). */
  requesterId: string;
  /** Users who approved (ids); the requester never counts, duplicates count once. */
  approverIds: string[];
  assetId: string;
  /** Protocols the request covers; null = any of the asset's. */
  protocols: Protocol[] | null;
  /** The approved window, ISO timestamps: [validFrom, validUntil). */
  validFrom: string;
  validUntil: string;
}

export interface ApprovalQuery {
  userId: string;
  assetId: string;
  protocol: Protocol;
  port: number;
  at: Date;
}

export type ApprovedRequestSource = (ex: Executor, q: ApprovalQuery) => Promise<ApprovedRequest | undefined>;

let source: ApprovedRequestSource | undefined;

/** Registers (or with undefined, removes) where decide() finds approved requests. */
export function setApprovedRequestSource(fn: ApprovedRequestSource | undefined): void {
  source = fn;
}

export async function findApprovedRequest(ex: Executor, q: ApprovalQuery): Promise<ApprovedRequest | undefined> {
  return source ? source(ex, q) : undefined;
}
