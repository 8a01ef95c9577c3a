import { PutCommand } from '@aws-sdk/lib-dynamodb';

import { NotFoundError } from '../domain/errors.js';
import { scheduleExists, type Schedule } from '../domain/schedule.js';
import type { OccurrenceClaim, OccurrenceRecord, OccurrenceResult, ScheduleStore } from '../ports/schedule-store.js';
import { decodeRecord, encodeRecord } from './dynamodb-record-codec.js';
import { isConditionFailure, prefixQuery, purgePartition, queryItems } from './dynamodb-support.js';
import { busy, DynamoDbStore, type DynamoDbStoreOptions, type DynamoItem, type TransactItem } from './dynamodb-store.js';
import { encodeTime, keyPart } from './dynamodb-table.js';
import { parseLimit, requireText } from './sqlite-store.js';

/*
 * Items (docs/DYNAMODB.md):
 *   SCHEDULES            / ID#<id>      name, rec     the schedule
 *   SCHEDULES            / NAME#<name>  id, rec       its name, unique; same record, so lists need one query
 *   OCCURRENCES#<id>     / OCC#<t>      outcome, rec  one claimed occurrence (<t> = encodeTime)
 */

const SCHEDULES_PK = 'SCHEDULES';
/** Rounds of a replace or delete that raced another change of the same schedule. */
const CHANGE_ATTEMPTS = 5;

/**
 * The schedule store on the DynamoDB catalog table, for the AWS deployment (same contract as
 * SqliteScheduleStore: test/contract/schedule-store.contract.ts runs on both).
 *
 * - Names are unique by a `NAME#<name>` item written in the same transaction as the schedule, with
 *   `attribute_not_exists`; a rename moves it in one transaction, conditional on the name read.
 * - A claim is one transaction: a ConditionCheck that the schedule exists and a Put of the occurrence
 *   with `attribute_not_exists`. DynamoDB serialises transactions on an item, so of any number of
 *   claims of one occurrence (from any number of Lambdas) exactly one puts it; a claim racing a delete
 *   either lands before the delete (and is purged with the schedule) or fails its check.
 * - Occurrences sit in a partition of their own per schedule, sorted by time: the newest are one
 *   Query (descending) away, and deleting a schedule deletes that partition.
 */
export class DynamoDbScheduleStore extends DynamoDbStore implements ScheduleStore {
  constructor(options: DynamoDbStoreOptions) {
    super(options);
  }

  createSchedule(schedule: Schedule): Promise<void> {
    return this.guard('createSchedule', async () => {
      requireText(schedule.id, 'id');
      requireText(schedule.name, 'name');
      const failed = await this.transact([this.putId(schedule, 'attribute_not_exists(PK)'), this.putName(schedule, 'attribute_not_exists(PK)')]);
      if (failed !== undefined) throw scheduleExists(schedule);
    });
  }

  getSchedule(idOrName: string): Promise<Schedule | undefined> {
    return this.guard('getSchedule', async () => {
      // By id first: an id always means that schedule, even if another is named like it.
      const item = (await this.getItem(idKey(idOrName))) ?? (await this.getItem(nameKey(idOrName)));
      return item === undefined ? undefined : decodeRecord<Schedule>(item);
    });
  }

  listSchedules(): Promise<Schedule[]> {
    return this.guard('listSchedules', async () => {
      const items = await queryItems(this.documents, prefixQuery(this.tableName, SCHEDULES_PK, 'NAME#'));
      return items.map((item) => decodeRecord<Schedule>(item));
    });
  }

  replaceSchedule(schedule: Schedule): Promise<void> {
    return this.guard('replaceSchedule', async () => {
      requireText(schedule.name, 'name');
      for (let attempt = 1; attempt <= CHANGE_ATTEMPTS; attempt++) {
        const current = await this.getItem(idKey(schedule.id));
        if (current === undefined) throw new NotFoundError('schedule', schedule.id);
        const oldName = String(current.name);
        const actions: TransactItem[] = [this.putId(schedule, '#name = :oldName', { '#name': 'name' }, { ':oldName': oldName })];
        if (oldName === schedule.name) actions.push(this.putName(schedule));
        else actions.push(this.deleteName(oldName, schedule.id), this.putName(schedule, 'attribute_not_exists(PK)'));
        const failed = await this.transact(actions);
        if (failed === undefined) return;
        // The schedule changed (or went) since it was read: read it again. Else the new name is taken.
        if (failed[0] === undefined && failed.at(-1) !== undefined) throw scheduleExists(schedule);
      }
      throw busy('replaceSchedule', `schedule ${schedule.id} kept changing`);
    });
  }

  deleteSchedule(id: string): Promise<boolean> {
    return this.guard('deleteSchedule', async () => {
      let existed = false;
      for (let attempt = 1; ; attempt++) {
        const current = await this.getItem(idKey(id));
        if (current === undefined) break;
        const name = String(current.name);
        const removeId: TransactItem = {
          Delete: { TableName: this.tableName, Key: idKey(id), ConditionExpression: '#name = :name', ExpressionAttributeNames: { '#name': 'name' }, ExpressionAttributeValues: { ':name': name } },
        };
        if ((await this.transact([removeId, this.deleteName(name, id)])) === undefined) {
          existed = true;
          break;
        }
        if (attempt >= CHANGE_ATTEMPTS) throw busy('deleteSchedule', `schedule ${id} kept changing`);
      }
      // After the schedule item is gone no claim can succeed, so this purge leaves nothing behind. It
      // also runs when there was no schedule: it finishes a delete that stopped before its purge.
      await purgePartition(this.documents, this.tableName, occurrencePartition(id));
      return existed;
    });
  }

  claimOccurrence(scheduleId: string, occurrence: Date, claim: OccurrenceClaim): Promise<boolean> {
    return this.guard('claimOccurrence', async () => {
      const record: OccurrenceRecord = { schedule_id: scheduleId, occurrence: occurrence.toISOString(), ...claim };
      const failed = await this.transact([
        { ConditionCheck: { TableName: this.tableName, Key: idKey(scheduleId), ConditionExpression: 'attribute_exists(PK)' } },
        { Put: { TableName: this.tableName, Item: occurrenceItem(record, occurrence), ConditionExpression: 'attribute_not_exists(PK)' } },
      ]);
      return failed === undefined;
    });
  }

  finishOccurrence(scheduleId: string, occurrence: Date, result: OccurrenceResult): Promise<void> {
    return this.guard('finishOccurrence', async () => {
      const notFound = (): NotFoundError => new NotFoundError('schedule occurrence', `${scheduleId} at ${occurrence.toISOString()}`);
      const item = await this.getItem(occurrenceKey(scheduleId, occurrence));
      if (item === undefined) throw notFound();
      const { error: _earlier, ...kept } = decodeRecord<OccurrenceRecord>(item);
      const updated: OccurrenceRecord = { ...kept, ...result };
      try {
        await this.documents.send(new PutCommand({ TableName: this.tableName, Item: occurrenceItem(updated, occurrence), ConditionExpression: 'attribute_exists(PK)' }));
      } catch (error) {
        if (isConditionFailure(error)) throw notFound(); // its schedule was deleted meanwhile
        throw error;
      }
    });
  }

  getOccurrence(scheduleId: string, occurrence: Date): Promise<OccurrenceRecord | undefined> {
    return this.guard('getOccurrence', async () => {
      const item = await this.getItem(occurrenceKey(scheduleId, occurrence));
      return item === undefined ? undefined : decodeRecord<OccurrenceRecord>(item);
    });
  }

  lastOccurrence(scheduleId: string, outcome?: OccurrenceRecord['outcome']): Promise<OccurrenceRecord | undefined> {
    return this.guard('lastOccurrence', async () => {
      const query = newestOccurrences(this.tableName, scheduleId);
      const filtered =
        outcome === undefined ? query : { ...query, FilterExpression: '#outcome = :outcome', ExpressionAttributeNames: { '#outcome': 'outcome' }, ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':outcome': outcome } };
      const [item] = await queryItems(this.documents, filtered, 1);
      return item === undefined ? undefined : decodeRecord<OccurrenceRecord>(item);
    });
  }

  listOccurrences(scheduleId: string, limit = 50): Promise<OccurrenceRecord[]> {
    return this.guard('listOccurrences', async () => {
      const items = await queryItems(this.documents, newestOccurrences(this.tableName, scheduleId), parseLimit(limit, 'limit'));
      return items.map((item) => decodeRecord<OccurrenceRecord>(item));
    });
  }

  private putId(schedule: Schedule, condition?: string, names?: Record<string, string>, values?: DynamoItem): TransactItem {
    const item = { ...idKey(schedule.id), name: schedule.name, ...encodeRecord(schedule, `schedule ${schedule.id}`) };
    return { Put: { TableName: this.tableName, Item: item, ...conditionOf(condition, names, values) } };
  }

  private putName(schedule: Schedule, condition?: string): TransactItem {
    const item = { ...nameKey(schedule.name), id: schedule.id, ...encodeRecord(schedule, `schedule ${schedule.id}`) };
    return { Put: { TableName: this.tableName, Item: item, ...conditionOf(condition) } };
  }

  /** Deletes a name item, only while it still names `id`. */
  private deleteName(name: string, id: string): TransactItem {
    return { Delete: { TableName: this.tableName, Key: nameKey(name), ConditionExpression: '#id = :id', ExpressionAttributeNames: { '#id': 'id' }, ExpressionAttributeValues: { ':id': id } } };
  }
}

function conditionOf(condition?: string, names?: Record<string, string>, values?: DynamoItem): DynamoItem {
  return {
    ...(condition !== undefined ? { ConditionExpression: condition } : {}),
    ...(names !== undefined ? { ExpressionAttributeNames: names } : {}),
    ...(values !== undefined ? { ExpressionAttributeValues: values } : {}),
  };
}

function newestOccurrences(tableName: string, scheduleId: string): ReturnType<typeof prefixQuery> {
  return { ...prefixQuery(tableName, occurrencePartition(scheduleId), 'OCC#'), ScanIndexForward: false };
}

function occurrenceItem(record: OccurrenceRecord, occurrence: Date): DynamoItem {
  return { ...occurrenceKey(record.schedule_id, occurrence), outcome: record.outcome, ...encodeRecord(record, `occurrence ${record.occurrence} of schedule ${record.schedule_id}`) };
}

function idKey(id: string): DynamoItem {
  return { PK: SCHEDULES_PK, SK: `ID#${id}` };
}

function nameKey(name: string): DynamoItem {
  return { PK: SCHEDULES_PK, SK: `NAME#${name}` };
}

function occurrencePartition(scheduleId: string): string {
  return `OCCURRENCES#${keyPart(scheduleId)}`;
}

function occurrenceKey(scheduleId: string, occurrence: Date): DynamoItem {
  return { PK: occurrencePartition(scheduleId), SK: `OCC#${encodeTime(occurrence.getTime())}` };
}
