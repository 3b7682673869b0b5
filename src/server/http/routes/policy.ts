import { getPolicyDefaults, policyDefaultsUpdateSchema, RECOMMENDED_DEFAULTS, updatePolicyDefaults } from '../../policy/defaults.js';
import { evaluateAccess, evaluateSchema, whyForUser, whyQuerySchema } from '../../policy/evaluate.js';
import { createRule, deleteRule, getRule, listRules, ruleCreateSchema, ruleCsvRow, ruleFilterSchema, ruleUpdateSchema, updateRule } from '../../policy/rules.js';
import { pageQuery } from '../../validation.js';
import { answerList } from '../list.js';
import { type Router, idParams } from '../route.js';

const ADMIN = ['Administrator'] as const;
const STAFF = ['Administrator', 'Operator'] as const;

/** Policy rules, Purdue-level defaults, the "what if" evaluator and the user's "why" (docs/policy.md). */
export function policyRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/policy/rules', tag: 'policy', summary: 'List policy rules', access: STAFF, query: ruleFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listRules(ctx.db, query, p), { name: 'policy-rules', row: ruleCsvRow }) });
  r.route({ method: 'POST', url: '/api/v1/policy/rules', tag: 'policy', summary: 'Create a policy rule (allow with conditions, or deny = prohibited targets)', access: ADMIN, body: ruleCreateSchema, status: 201,
    handler: ({ ctx, body }) => createRule(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/policy/rules/:id', tag: 'policy', summary: 'Get a policy rule', access: STAFF, params: idParams,
    handler: ({ ctx, params }) => getRule(ctx.db, params.id) });
  r.route({ method: 'PATCH', url: '/api/v1/policy/rules/:id', tag: 'policy', summary: 'Update a policy rule (nested objects are replaced whole)', access: ADMIN, params: idParams, body: ruleUpdateSchema,
    handler: ({ ctx, params, body }) => updateRule(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/policy/rules/:id', tag: 'policy', summary: 'Delete a policy rule', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteRule(ctx, params.id) });
  r.route({ method: 'GET', url: '/api/v1/policy/defaults', tag: 'policy', summary: 'Purdue-level defaults (and the recommended values)', access: STAFF,
    handler: async ({ ctx }) => ({ ...(await getPolicyDefaults(ctx.db)), recommended: RECOMMENDED_DEFAULTS }) });
  r.route({ method: 'PUT', url: '/api/v1/policy/defaults', tag: 'policy', summary: 'Change the Purdue-level defaults (fields left out keep their value)', access: ADMIN, body: policyDefaultsUpdateSchema,
    handler: async ({ ctx, body }) => ({ ...(await updatePolicyDefaults(ctx, body)), recommended: RECOMMENDED_DEFAULTS }) });
  r.route({ method: 'POST', url: '/api/v1/policy/evaluate', tag: 'policy', summary: 'What if: the decision, reasons and constraints for a user, asset, protocol and time', access: STAFF, body: evaluateSchema,
    handler: ({ ctx, body }) => evaluateAccess(ctx.db, body) });
  r.route({ method: 'GET', url: '/api/v1/me/assets/:id/why', tag: 'me', summary: 'Why I can or cannot connect to this asset now (decision, reasons, constraints)', access: 'authenticated', params: idParams, query: whyQuerySchema,
    handler: ({ ctx, params, query, req }) => whyForUser(ctx.db, { id: req.auth!.session.user.id, role: req.auth!.session.user.role }, params.id, query) });
}
