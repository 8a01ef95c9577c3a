import { ValidationError } from '../domain/errors.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { LAYOUT, lastSegment } from '../repository/layout.js';
import { readConfig } from '../repository/repository.js';
import { providerOf, type ProviderKind } from '../storage/open-storage.js';
import type { AppDeps } from './deps.js';

/** "N copies on M providers": the primary counts as one copy and its provider as one provider. */
export interface ReplicationPolicy {
  copies: number;
  providers: number;
}

export interface ReplicationCheckInput extends ReplicationPolicy {
  /**
   * Replicas to look into: when given, a copy counts only where the snapshot object actually is (the
   * repository is the truth). Without them, the catalog's receipts are the evidence.
   */
  replicas?: ObjectStorage[];
}

export interface SnapshotCopies {
  snapshotId: string;
  copies: number;
  /** Locations holding the snapshot, the primary first. */
  locations: string[];
  providers: ProviderKind[];
  /** What falls short of the policy. */
  short: ('copies' | 'providers')[];
}

export interface ReplicationCheckResult {
  policy: ReplicationPolicy;
  /** Where the copies were counted: in the replicas themselves, or in the catalog's receipts. */
  basis: 'replicas' | 'receipts';
  snapshotsChecked: number;
  ok: boolean;
  /** Snapshots that fall short, oldest id first. */
  shortfalls: SnapshotCopies[];
  /** Replicas that could not be counted (unreachable, or another repository), with the reason. */
  unusableReplicas: { location: string; reason: string }[];
}

/**
 * Reports which snapshots of the primary repository (`deps.storage`) fall short of a replication policy:
 * held in fewer places than `copies`, or on fewer distinct provider kinds (s3, gcs, azure, sftp, ftp,
 * local) than `providers`. Reads only listings and the plaintext config: no key and no lease needed.
 */
export async function checkReplication(deps: AppDeps, input: ReplicationCheckInput): Promise<ReplicationCheckResult> {
  for (const field of ['copies', 'providers'] as const) {
    if (!Number.isInteger(input[field]) || input[field] < 1) throw new ValidationError(`${field} must be a whole number of at least 1`, field);
  }
  const config = await readConfig(deps.storage);
  const snapshotIds = await listSnapshotIds(deps.storage);
  const places = new Map<string, Map<string, ProviderKind>>(snapshotIds.map((id) => [id, new Map([[deps.storage.location, providerOf(deps.storage.location)]])]));
  const unusableReplicas: ReplicationCheckResult['unusableReplicas'] = [];

  if (input.replicas !== undefined) {
    for (const replica of input.replicas) {
      try {
        const replicaConfig = await readConfig(replica);
        if (replicaConfig.id !== config.id) {
          unusableReplicas.push({ location: replica.location, reason: `holds another repository (${replicaConfig.id})` });
          continue;
        }
        for (const id of await listSnapshotIds(replica)) places.get(id)?.set(replica.location, providerOf(replica.location));
      } catch (error) {
        unusableReplicas.push({ location: replica.location, reason: error instanceof Error ? error.message : String(error) });
      }
    }
  } else {
    for (const receipt of await deps.catalog.listReplications({ sourceRepository: config.id })) {
      places.get(receipt.snapshotId)?.set(receipt.destination.location, receipt.destination.provider as ProviderKind);
    }
  }

  const shortfalls: SnapshotCopies[] = [];
  for (const [snapshotId, held] of places) {
    const providers = [...new Set(held.values())];
    const short: SnapshotCopies['short'] = [];
    if (held.size < input.copies) short.push('copies');
    if (providers.length < input.providers) short.push('providers');
    if (short.length > 0) shortfalls.push({ snapshotId, copies: held.size, locations: [...held.keys()], providers, short });
  }
  return {
    policy: { copies: input.copies, providers: input.providers },
    basis: input.replicas !== undefined ? 'replicas' : 'receipts',
    snapshotsChecked: snapshotIds.length,
    ok: shortfalls.length === 0,
    shortfalls,
    unusableReplicas,
  };
}

async function listSnapshotIds(storage: ObjectStorage): Promise<string[]> {
  const ids: string[] = [];
  for await (const object of storage.list(LAYOUT.snapshots)) ids.push(lastSegment(object.key));
  return ids.sort();
}
