import type { Role } from '../domain/user.js';

/** What a route needs the caller to be allowed to do. Roles map to sets of these, in one table. */
export const PERMISSIONS = [
  'backups.read',
  'backups.run',
  'backups.verify',
  'recovery.read',
  'recovery.new_target',
  'recovery.overwrite',
  'backends.read',
  'backends.write',
  'schedules.read',
  'schedules.write',
  'policies.read',
  'policies.write',
  'cleanup.preview',
  'cleanup.run',
  'health.read',
  'statistics.read',
  'metrics.read',
  'audit.read',
  'users.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ_VIEWS: readonly Permission[] = [
  'backups.read',
  'recovery.read',
  'backends.read',
  'schedules.read',
  'policies.read',
  'cleanup.preview',
  'health.read',
  'statistics.read',
  'metrics.read',
];

/**
 * The role table. Operators run and verify backups and restore into new targets, but change no
 * configuration and never overwrite. Auditors read the trail and the backup evidence it refers to (the
 * history, recoveries, health), but not configuration such as backends or schedules.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(PERMISSIONS),
  operator: new Set<Permission>([...READ_VIEWS, 'backups.run', 'backups.verify', 'recovery.new_target']),
  viewer: new Set<Permission>(READ_VIEWS),
  auditor: new Set<Permission>(['audit.read', 'backups.read', 'recovery.read', 'health.read', 'statistics.read']),
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
