import type Database from 'better-sqlite3';

import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { User } from '../domain/user.js';
import type { UserStore } from '../ports/user-store.js';
import { SqliteStore } from './sqlite-store.js';

interface UserRow {
  data: string;
}

/** Users in the catalog file (table `users`, schema v4); obtain with `catalog.sibling((db) => new SqliteUserStore(db))`. */
export class SqliteUserStore extends SqliteStore implements UserStore {
  constructor(db: Database.Database) {
    super(db);
  }

  createUser(user: User): Promise<void> {
    return this.guard('createUser', () => {
      const result = this.statement('INSERT INTO users (id, email, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(user.id, user.email, JSON.stringify(user));
      if (result.changes === 0) throw new ConflictError('user_exists', `a user with email ${user.email} or id ${user.id} already exists`, { details: { field: 'email' } });
    });
  }

  getUser(id: string): Promise<User | undefined> {
    return this.guard('getUser', () => parse(this.statement('SELECT data FROM users WHERE id = ?').get(id) as UserRow | undefined));
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.guard('findByEmail', () => parse(this.statement('SELECT data FROM users WHERE email = ?').get(email) as UserRow | undefined));
  }

  listUsers(): Promise<User[]> {
    return this.guard('listUsers', () => (this.statement('SELECT data FROM users ORDER BY email').all() as UserRow[]).map((row) => JSON.parse(row.data) as User));
  }

  updateUser(id: string, change: Partial<Pick<User, 'email' | 'role' | 'passwordHash'>> & { updated: string }): Promise<User> {
    return this.guard('updateUser', () =>
      this.db.transaction((): User => {
        const current = parse(this.statement('SELECT data FROM users WHERE id = ?').get(id) as UserRow | undefined);
        if (current === undefined) throw new NotFoundError('user', id);
        const next: User = { ...current, ...change };
        const clash = parse(this.statement('SELECT data FROM users WHERE email = ?').get(next.email) as UserRow | undefined);
        if (clash !== undefined && clash.id !== id) throw new ConflictError('user_exists', `a user with email ${next.email} already exists`, { details: { field: 'email' } });
        this.statement('UPDATE users SET email = ?, data = ? WHERE id = ?').run(next.email, JSON.stringify(next), id);
        return next;
      }).immediate(),
    );
  }

  deleteUser(id: string): Promise<void> {
    return this.guard('deleteUser', () => {
      if (this.statement('DELETE FROM users WHERE id = ?').run(id).changes === 0) throw new NotFoundError('user', id);
    });
  }

  countUsers(): Promise<number> {
    return this.guard('countUsers', () => (this.statement('SELECT count(*) AS n FROM users').get() as { n: number }).n);
  }
}

function parse(row: UserRow | undefined): User | undefined {
  return row === undefined ? undefined : (JSON.parse(row.data) as User);
}
