import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../src/domain/errors.js';
import { parsePlanRunType, planRunSelection, validatePlan, validatePlanFile } from '../../../src/domain/plan.js';
import { thrownBy } from '../../helpers/thrown.js';

const full = {
  repository: 's3://bucket/prefix',
  compression: 'lz4',
  postgres: { url: 'postgres://app@db:5432/app', fingerprint: 'counts', globals: false },
  redis: { url: 'redis://cache:6379' },
  files: { paths: ['/srv/uploads'], exclude: ['*.tmp'] },
  config: { files: ['/etc/app.yaml'], environment: ['APP_*'] },
  restore: { postgres: 'postgres://app@standby:5432/', files: '/srv/restore' },
  verify: { postgres: 'postgres://app@scratch:5432/' },
};

describe('validatePlan', () => {
  it('keeps every field of a complete plan', () => {
    expect(validatePlan('web', full)).toEqual({ name: 'web', ...full });
  });

  it.each([
    ['an unknown top-level field', { ...full, postgress: {} }, 'plans.web.postgress'],
    ['a source without url', { postgres: {} }, 'plans.web.postgres.url'],
    ['a bad fingerprint level', { postgres: { url: 'postgres://h/db', fingerprint: 'all' } }, 'plans.web.postgres.fingerprint'],
    ['globals that is not a boolean', { postgres: { url: 'postgres://h/db', globals: 'yes' } }, 'plans.web.postgres.globals'],
    ['an empty path list', { files: { paths: [] } }, 'plans.web.files.paths'],
    ['a path that is not a string', { files: { paths: ['/a', 3] } }, 'plans.web.files.paths[1]'],
    ['an unknown compression', { ...full, compression: 'brotli' }, 'plans.web.compression'],
    ['an unknown restore target', { ...full, restore: { mysql: 'x' } }, 'plans.web.restore.mysql'],
    ['no source at all', { repository: '/r' }, 'plans.web'],
    ['a password instead of a variable name', { postgres: { url: 'postgres://h/db', password_env: 'hunter2 secret' } }, 'plans.web.postgres.password_env'],
  ])('refuses %s, naming the field', (_name, raw, field) => {
    const error = thrownBy(() => validatePlan('web', raw), ValidationError);
    expect(error.details?.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it('refuses a bad plan name', () => {
    expect(thrownBy(() => validatePlan('../etc', { files: { paths: ['/a'] } }), ValidationError).message).toContain('plan name');
  });

  it('reads the plans map of a plan file', () => {
    expect(validatePlanFile({ plans: { a: { files: { paths: ['/a'] } }, b: { redis: { url: 'redis://h' } } } }).map((plan) => plan.name)).toEqual(['a', 'b']);
    expect(thrownBy(() => validatePlanFile({ plan: {} }), ValidationError).message).toContain('plan file.plan ');
  });
});

describe('plan run types', () => {
  it('maps per-source types to their source and a full backup', () => {
    expect(planRunSelection('database_only')).toEqual({ sources: ['postgres'], backupType: 'full' });
    expect(planRunSelection('incremental')).toEqual({ sources: ['config', 'postgres', 'redis', 'files'], backupType: 'incremental' });
    expect(parsePlanRunType('files_only')).toBe('files_only');
    expect(thrownBy(() => parsePlanRunType('weekly'), ValidationError).details?.field).toBe('type');
  });
});
