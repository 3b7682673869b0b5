/**
 * Access requests (issue 6, part 2): the workflow, the policy hook and the ITSM integration.
 * See docs/requests.md.
 */
export { getItsmSettings, handleItsmWebhook, ITSM_SECRET_PURPOSE, itsmSettingsPutSchema, putItsmSettings } from './itsm.js';
export * from './model.js';
export { RequestWorkflow, type RequestWorkflowOptions, type SessionControl, type Via, type Who } from './workflow.js';
