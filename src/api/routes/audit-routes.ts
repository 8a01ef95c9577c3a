import { z } from 'zod';

import { AUDIT_EXPORT_FORMATS, AUDIT_EXPORT_MEDIA_TYPES, exportAuditToBuffer } from '../../audit/audit-export.js';
import { entryJson, verificationJson } from '../../audit/json-export.js';
import { MAX_AUDIT_PAGE } from '../../ports/audit-log.js';
import type { ApiServices } from '../api-services.js';
import { json, needs, route, type Route } from '../route.js';
import { isoDateTimeSchema, queryInt } from '../schemas.js';

const exportQuery = z.strictObject({
  days: queryInt(1, 3660).default(30),
  format: z.enum(AUDIT_EXPORT_FORMATS).default('json'),
});

const entriesQuery = z.strictObject({
  from: isoDateTimeSchema.optional(),
  to: isoDateTimeSchema.optional(),
  limit: queryInt(1, MAX_AUDIT_PAGE).default(100),
  cursor: z.string().max(200).optional(),
});

export function auditRoutes(services: ApiServices): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/backup/audit',
      summary: 'Export the audit trail of the last `days` days as JSON, CSV or a PDF compliance summary',
      tag: 'audit',
      access: needs('audit.read'),
      query: exportQuery,
      audit: 'audit.export',
      responses: { 200: 'the export (the export itself is recorded in the trail)' },
      async handle({ query, audit }) {
        const to = services.clock.now();
        const from = new Date(to.getTime() - query.days * 86_400_000);
        const { body, result } = await exportAuditToBuffer(services.audit, { format: query.format, from: from.toISOString(), to: to.toISOString(), generatedAt: to });
        audit.target = `audit:${result.from}/${result.to}`;
        audit.details = { format: query.format, entries: result.entries };
        return {
          status: 200,
          headers: { 'content-type': AUDIT_EXPORT_MEDIA_TYPES[query.format], 'content-disposition': `attachment; filename="audit-${result.from.slice(0, 10)}-${result.to.slice(0, 10)}.${query.format}"` },
          body,
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/audit/entries',
      summary: 'Audit entries in a time range, oldest first, paged by cursor',
      tag: 'audit',
      access: needs('audit.read'),
      query: entriesQuery,
      responses: { 200: 'a page of entries' },
      async handle({ query }) {
        const page = await services.audit.list({ limit: query.limit, ...(query.from ? { from: query.from } : {}), ...(query.to ? { to: query.to } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) });
        return json(200, { items: page.records.map(entryJson), next_cursor: page.nextCursor ?? null });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/audit/verify',
      summary: 'Check the whole hash chain; reports the first broken entry',
      tag: 'audit',
      access: needs('audit.read'),
      responses: { 200: 'ok, or the first broken link (seq and reason)' },
      async handle() {
        return json(200, verificationJson(await services.audit.verify()));
      },
    }),
  ];
}
