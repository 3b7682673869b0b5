import { z } from 'zod';
import { containsText } from '../db/text.js';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { VendorsTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, notFound } from '../errors.js';
import { fromBool, newId, nowIso, parseJson, toBool } from '../util.js';
import { description, isoDate, name } from '../validation.js';

const contact = z.strictObject({
  name: z.string().trim().min(1).max(128),
  email: z.email('must be an email address').max(254).optional(),
  phone: z.string().trim().max(64).regex(/^[0-9 +().\/-]*$/, 'must be a phone number').optional(),
  role: z.string().trim().max(128).optional(),
});
export type Contact = z.infer<typeof contact>;

export const vendorCreateSchema = z.strictObject({
  name,
  contacts: z.array(contact).max(20).default([]),
  contractEnd: isoDate.nullable().default(null),
  lastSecurityAssessment: isoDate.nullable().default(null),
  termsAccepted: z.boolean().default(false),
  description: description.default(''),
});
export const vendorUpdateSchema = z.strictObject({
  name: name.optional(),
  contacts: z.array(contact).max(20).optional(),
  contractEnd: isoDate.nullable().optional(),
  lastSecurityAssessment: isoDate.nullable().optional(),
  termsAccepted: z.boolean().optional(),
  description: description.optional(),
});
export const vendorFilterSchema = z.strictObject({ name: z.string().max(128).optional() });

export interface Vendor {
  id: string;
  name: string;
  contacts: Contact[];
  contractEnd: string | null;
  lastSecurityAssessment: string | null;
  termsAccepted: boolean;
  termsAcceptedAt: string | null;
  description: string;
  createdAt: string;
  updatedAt: string;
}

const toVendor = (r: VendorsTable): Vendor => ({
  id: r.id,
  name: r.name,
  contacts: parseJson<Contact[]>(r.contacts, []),
  contractEnd: r.contract_end,
  lastSecurityAssessment: r.last_assessment,
  termsAccepted: toBool(r.terms_accepted),
  termsAcceptedAt: r.terms_accepted_at,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const vendorCsvRow = (v: Vendor) => ({
  name: v.name,
  contacts: v.contacts.map((c) => [c.name, c.email, c.phone].filter(Boolean).join(' ')).join('; '),
  contract_end: v.contractEnd ?? '',
  last_security_assessment: v.lastSecurityAssessment ?? '',
  terms_accepted: v.termsAccepted ? 'yes' : 'no',
  terms_accepted_at: v.termsAcceptedAt ?? '',
});

export async function listVendors(db: Db, f: z.infer<typeof vendorFilterSchema>, page: PageRequest) {
  let q = db.selectFrom('vendors').selectAll();
  if (f.name) q = q.where(containsText('name', f.name!));
  const res = await paginate(q, { sortColumn: 'name', idColumn: 'id', sortKey: (r) => r.name, idKey: (r) => r.id }, page);
  return { items: res.items.map(toVendor), nextCursor: res.nextCursor };
}

export async function getVendor(ex: Executor, vendorId: string): Promise<Vendor> {
  const row = await ex.selectFrom('vendors').selectAll().where('id', '=', vendorId).executeTakeFirst();
  if (!row) throw notFound('vendor company', vendorId);
  return toVendor(row);
}

async function assertNameFree(ex: Executor, vendorName: string, exceptId?: string) {
  const other = await ex.selectFrom('vendors').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', vendorName.toLowerCase())).executeTakeFirst();
  if (other && other.id !== exceptId) throw conflict(`a vendor company named "${vendorName}" already exists`);
}

export async function createVendor(ctx: Ctx, input: z.infer<typeof vendorCreateSchema>): Promise<Vendor> {
  return inTx(ctx.db, async (tx) => {
    await assertNameFree(tx, input.name);
    const now = nowIso();
    const row: VendorsTable = {
      id: newId(),
      name: input.name,
      contacts: JSON.stringify(input.contacts),
      contract_end: input.contractEnd,
      last_assessment: input.lastSecurityAssessment,
      terms_accepted: fromBool(input.termsAccepted),
      terms_accepted_at: input.termsAccepted ? now : null,
      description: input.description,
      created_at: now,
      updated_at: now,
    };
    await tx.insertInto('vendors').values(row).execute();
    const vendor = toVendor(row);
    await audit(tx, ctx.actor, { action: 'vendor.create', target: { type: 'vendor', id: row.id, name: row.name }, details: { vendor } });
    return vendor;
  });
}

export async function updateVendor(ctx: Ctx, vendorId: string, input: z.infer<typeof vendorUpdateSchema>): Promise<Vendor> {
  return inTx(ctx.db, async (tx) => {
    const before = await getVendor(tx, vendorId);
    if (input.name !== undefined) await assertNameFree(tx, input.name, vendorId);
    const now = nowIso();
    const accepted = input.termsAccepted ?? before.termsAccepted;
    await tx
      .updateTable('vendors')
      .set({
        name: input.name ?? before.name,
        contacts: JSON.stringify(input.contacts ?? before.contacts),
        contract_end: input.contractEnd !== undefined ? input.contractEnd : before.contractEnd,
        last_assessment: input.lastSecurityAssessment !== undefined ? input.lastSecurityAssessment : before.lastSecurityAssessment,
        terms_accepted: fromBool(accepted),
        terms_accepted_at: accepted ? (before.termsAccepted ? before.termsAcceptedAt : now) : null,
        description: input.description ?? before.description,
        updated_at: now,
      })
      .where('id', '=', vendorId)
      .execute();
    const after = await getVendor(tx, vendorId);
    await audit(tx, ctx.actor, { action: 'vendor.update', target: { type: 'vendor', id: vendorId, name: after.name }, details: { changes: changes(before as unknown as Record<string, unknown>, input) } });
    return after;
  });
}

export async function deleteVendor(ctx: Ctx, vendorId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getVendor(tx, vendorId);
    const n = await tx.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('vendor_id', '=', vendorId).executeTakeFirstOrThrow();
    if (Number(n.n) > 0) throw conflict(`vendor company "${before.name}" still has ${n.n} user(s): delete them or change their affiliation first`);
    await tx.deleteFrom('vendors').where('id', '=', vendorId).execute();
    await audit(tx, ctx.actor, { action: 'vendor.delete', target: { type: 'vendor', id: vendorId, name: before.name }, details: { vendor: before } });
  });
}
