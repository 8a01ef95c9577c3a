import { z } from 'zod';

import { NotFoundError } from '../../domain/errors.js';
import { MAX_OCCURRENCES, nextOccurrences, parseCron, parseTimeZone } from '../../domain/cron.js';
import { PLAN_RUN_TYPES } from '../../domain/plan.js';
import { awsScheduleExpression, changedSchedule, MISSED_RUN_POLICIES, newSchedule, parseScheduleInput, SCHEDULE_KINDS, upcomingOccurrences, type Schedule } from '../../domain/schedule.js';
import type { ScheduleStore } from '../../ports/schedule-store.js';
import type { ScheduleTriggers } from '../../ports/schedule-triggers.js';
import type { ApiServices } from '../api-services.js';
import { json, needs, route, type Route } from '../route.js';
import { queryInt } from '../schemas.js';

/** The shape, for validation of types and for the OpenAPI document; the domain checks the meaning (cron, zone, plan rules). */
const scheduleFields = {
  name: z.string().min(1).max(100),
  kind: z.enum(SCHEDULE_KINDS),
  plan: z.string().min(1).max(100).nullable(),
  backup_type: z.enum(PLAN_RUN_TYPES).nullable(),
  retention_policy: z.string().min(1).max(100).nullable(),
  cron_expression: z.string().min(1).max(200),
  time_zone: z.string().min(1).max(100),
  enabled: z.boolean(),
  missed_run_policy: z.enum(MISSED_RUN_POLICIES),
};
const newScheduleBody = z.strictObject({ ...scheduleFields, kind: scheduleFields.kind.optional(), plan: scheduleFields.plan.optional(), backup_type: scheduleFields.backup_type.optional(), retention_policy: scheduleFields.retention_policy.optional(), time_zone: scheduleFields.time_zone.optional(), enabled: scheduleFields.enabled.optional(), missed_run_policy: scheduleFields.missed_run_policy.optional() });
const scheduleChangeBody = z.strictObject(Object.fromEntries(Object.entries(scheduleFields).map(([key, schema]) => [key, schema.optional()])) as { [K in keyof typeof scheduleFields]: z.ZodOptional<(typeof scheduleFields)[K]> });
const scheduleParams = z.strictObject({ id: z.string().regex(/^[0-9a-f]{16}$/, 'must be a schedule id') });
const previewQuery = z.strictObject({ cron_expression: z.string().min(1).max(200), time_zone: z.string().max(100).default('UTC'), count: queryInt(1, 50).default(5) });

/**
 * The schedule routes over a store, and the triggers that fire schedules elsewhere (EventBridge
 * Scheduler in AWS; none locally, where the in-process scheduler reads the store).
 */
export function scheduleRoutes(store: ScheduleStore, triggers?: ScheduleTriggers): (services: ApiServices) => Route[] {
  return (services) => {
    const body = async (schedule: Schedule) => ({
      ...schedule,
      aws_schedule_expression: awsOrNull(schedule),
      next_runs: schedule.enabled ? upcomingOccurrences(schedule, services.clock.now(), 5).map((date) => date.toISOString()) : [],
      last_occurrence: (await store.lastOccurrence(schedule.id)) ?? null,
    });
    /** A schedule may only name a plan and a policy that exist: a typo found at 02:00 is a missed backup. */
    const checkReferences = async (schedule: Pick<Schedule, 'plan' | 'retention_policy'>) => {
      if (schedule.plan !== undefined && (await services.catalog.getPlan(schedule.plan)) === undefined) throw new NotFoundError('plan', schedule.plan, { details: { field: 'plan' } });
      if (schedule.retention_policy !== undefined && (await services.policies.getPolicy(schedule.retention_policy)) === undefined) {
        throw new NotFoundError('retention policy', schedule.retention_policy, { details: { field: 'retention_policy' } });
      }
    };
    const policyOf = async (schedule: Schedule) => (schedule.retention_policy ? (await services.policies.getPolicy(schedule.retention_policy))?.policy : undefined);
    return [
      route({
        method: 'GET',
        path: '/api/v1/backup/schedules',
        summary: 'Schedules with their next five run times and last occurrence',
        tag: 'schedules',
        access: needs('schedules.read'),
        responses: { 200: 'the schedules' },
        async handle() {
          return json(200, { items: await Promise.all((await store.listSchedules()).map(body)) });
        },
      }),
      route({
        method: 'GET',
        path: '/api/v1/backup/schedules/preview',
        summary: 'The next run times of a cron expression (5-field or AWS cron(...)) in a time zone',
        tag: 'schedules',
        access: needs('schedules.read'),
        query: previewQuery,
        responses: { 200: 'the next run times', 400: 'what is wrong with the expression or zone' },
        async handle({ query }) {
          const cron = parseCron(query.cron_expression);
          const runs = nextOccurrences(cron, parseTimeZone(query.time_zone), services.clock.now(), Math.min(query.count, MAX_OCCURRENCES));
          return json(200, { cron_expression: cron.expression, time_zone: query.time_zone, next_runs: runs.map((date) => date.toISOString()), aws_schedule_expression: awsOrNull({ cron_expression: cron.expression }) });
        },
      }),
      route({
        method: 'POST',
        path: '/api/v1/backup/schedules',
        summary: 'Create a schedule (backup of a plan, or retention with a policy)',
        tag: 'schedules',
        access: needs('schedules.write'),
        body: newScheduleBody,
        audit: 'schedule.create',
        responses: { 201: 'the schedule', 400: 'invalid (the field is named)', 404: 'the plan or policy does not exist', 409: 'the name is taken' },
        async handle({ body: raw, audit }) {
          audit.target = raw.name;
          const input = parseScheduleInput(raw);
          await checkReferences(input);
          const schedule = newSchedule(input, services.clock.now());
          await store.createSchedule(schedule);
          await triggers?.upsert(schedule, await policyOf(schedule));
          audit.details = { id: schedule.id, cron_expression: schedule.cron_expression };
          return json(201, await body(schedule), { location: `/api/v1/backup/schedules/${schedule.id}` });
        },
      }),
      route({
        method: 'PUT',
        path: '/api/v1/backup/schedules/{id}',
        summary: 'Change a schedule (given fields replace, null removes); pause with enabled: false',
        tag: 'schedules',
        access: needs('schedules.write'),
        params: scheduleParams,
        body: scheduleChangeBody,
        audit: 'schedule.update',
        responses: { 200: 'the schedule', 404: 'no such schedule' },
        async handle({ params, body: changes, audit }) {
          audit.target = params.id;
          const existing = await store.getSchedule(params.id);
          if (existing === undefined) throw new NotFoundError('schedule', params.id);
          const updated = changedSchedule(existing, changes, services.clock.now());
          await checkReferences(updated);
          await store.replaceSchedule(updated);
          await triggers?.upsert(updated, await policyOf(updated));
          audit.details = { changed: Object.keys(changes) };
          return json(200, await body(updated));
        },
      }),
      route({
        method: 'DELETE',
        path: '/api/v1/backup/schedules/{id}',
        summary: 'Delete a schedule and its occurrence records',
        tag: 'schedules',
        access: needs('schedules.write'),
        params: scheduleParams,
        audit: 'schedule.delete',
        responses: { 204: 'deleted', 404: 'no such schedule' },
        async handle({ params, audit }) {
          audit.target = params.id;
          if (!(await store.deleteSchedule(params.id))) throw new NotFoundError('schedule', params.id);
          await triggers?.remove(params.id);
          return { status: 204 };
        },
      }),
    ];
  };
}

/** The EventBridge Scheduler form, or null for expressions AWS cannot say (both day fields restricted). */
function awsOrNull(schedule: Pick<Schedule, 'cron_expression'>): string | null {
  try {
    return awsScheduleExpression(schedule);
  } catch {
    return null;
  }
}
