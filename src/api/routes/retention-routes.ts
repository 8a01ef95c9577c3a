import { z } from 'zod';

import { cleanup } from '../../app/cleanup.js';
import { NotFoundError } from '../../domain/errors.js';
import { RETENTION_RULES, validateRetentionPolicy, type RetentionPolicy } from '../../domain/retention.js';
import type { ApiServices } from '../api-services.js';
import { json, needs, route, type Route } from '../route.js';
import { storageBackendIdSchema } from '../schemas.js';

const ruleFields = Object.fromEntries(RETENTION_RULES.map((rule) => [rule, z.number().int().min(0).max(100_000).optional()])) as Record<
  (typeof RETENTION_RULES)[number],
  z.ZodOptional<z.ZodNumber>
>;

const policyName = z.string().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9_. -]*$/, 'must be a policy name (letters, digits, space _ . -)');
const policyBody = z.strictObject({ name: policyName, ...ruleFields });

const cleanupBody = z
  .strictObject({
    policy: policyName.optional(),
    rules: z.strictObject(ruleFields).optional(),
    confirm: z.boolean().default(false),
    storage_backend_id: storageBackendIdSchema.optional(),
  })
  .refine((body) => (body.policy === undefined) !== (body.rules === undefined), { message: 'give either policy (a name) or rules, not both and not neither', path: ['policy'] });

export function retentionRoutes(services: ApiServices): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/backup/retention-policies',
      summary: 'Retention policies',
      tag: 'retention',
      access: needs('policies.read'),
      responses: { 200: 'the policies' },
      async handle() {
        const policies = await services.policies.listPolicies();
        return json(200, { items: policies.map((entry) => ({ name: entry.name, ...entry.policy, updated_at: entry.updated })) });
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/backup/retention-policies',
      summary: 'Create or replace a retention policy',
      tag: 'retention',
      access: needs('policies.write'),
      body: policyBody,
      audit: 'retention_policy.put',
      responses: { 201: 'the policy', 400: 'invalid policy (a policy that keeps nothing is refused)' },
      async handle({ body, audit }) {
        audit.target = body.name;
        const { name, ...rules } = body;
        const policy = validateRetentionPolicy(rules, 'body');
        const updated = services.clock.now().toISOString();
        await services.policies.putPolicy({ name, policy, updated });
        return json(201, { name, ...policy, updated_at: updated });
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/backup/cleanup',
      summary: 'Apply a retention policy: a dry run listing what would go and why, unless confirm is true',
      tag: 'retention',
      access: needs('cleanup.preview'),
      body: cleanupBody,
      requires: ({ body }) => (body.confirm ? 'cleanup.run' : undefined),
      audit: 'backup.cleanup',
      responses: { 200: 'kept and removed backups with reasons', 404: 'no such policy' },
      async handle({ body, audit }) {
        const policy = await resolvePolicy(services, body.policy, body.rules);
        audit.target = body.policy ?? 'inline rules';
        const result = await services.withRepository(body.storage_backend_id, (deps) => cleanup(deps, { policy, confirm: body.confirm }));
        audit.details = { confirm: body.confirm, removed: result.remove.length };
        return json(200, { dry_run: result.dryRun, keep: result.keep, remove: result.remove, pruned: result.pruned ?? null });
      },
    }),
  ];
}

async function resolvePolicy(services: ApiServices, name: string | undefined, rules: Record<string, number | undefined> | undefined): Promise<RetentionPolicy> {
  if (name === undefined) return validateRetentionPolicy(rules, 'body.rules');
  const stored = await services.policies.getPolicy(name);
  if (stored === undefined) throw new NotFoundError('retention policy', name, { details: { field: 'body.policy' } });
  return stored.policy;
}
