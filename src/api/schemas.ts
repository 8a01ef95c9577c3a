import { z } from 'zod';

import { PLAN_RUN_TYPES } from '../domain/plan.js';

/** Backup, snapshot and run ids: what the repository generates, nothing that could escape a path. */
export const backupIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be a backup or snapshot id (letters, digits, _ . : -)');
export const storageBackendIdSchema = z.number().int().positive();
export const planNameSchema = z.string().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9_. -]*$/, 'must be a plan name');
export const planRunTypeSchema = z.enum(PLAN_RUN_TYPES);
export const isoDateTimeSchema = z.iso.datetime({ offset: true });

/** A positive integer given as a query string. */
export function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** `true`/`false` as a query string. */
export const queryBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');

/** Path parameter `{id}` that is a positive integer. */
export const numericIdParams = z.strictObject({ id: queryInt(1, 2_147_483_647) });
