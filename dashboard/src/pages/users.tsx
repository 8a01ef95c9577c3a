import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { ErrorBanner, Field, Loading, PageTitle, Section, SelectField, TableWrap } from '../components/ui.js';
import { ROLES } from '../enums.js';
import { time } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { useSession } from '../session-context.js';
import type { Page, User } from '../types.js';

const ROLE_NOTES: Record<string, string> = {
  admin: 'everything, including users and overwriting restores',
  operator: 'runs and verifies backups, restores into new targets',
  viewer: 'reads status, history and configuration',
  auditor: 'reads the audit trail and backup evidence',
};

export function UsersPage() {
  const me = useSession();
  const users = useLoad(() => call<Page<User>>('GET', '/api/v1/users'), []);
  const [roles, setRoles] = useState<Record<string, string>>({});
  const change = useAction(async (user: User) => {
    await call('PUT', `/api/v1/users/${user.id}`, { body: { role: roles[user.id] } });
    users.reload();
  });
  const remove = useAction(async (user: User) => {
    if (!window.confirm(`Delete user ${user.email}?`)) return;
    await call('DELETE', `/api/v1/users/${user.id}`);
    users.reload();
  });
  return (
    <>
      <PageTitle>Users and roles</PageTitle>
      <Section title="Users">
        <ErrorBanner message={users.error ?? change.error ?? remove.error} />
        {users.loading && !users.data && <Loading what="users" />}
        {users.data && (
          <TableWrap label="Users">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((user) => (
                <tr>
                  <td>
                    {user.email}
                    {user.email === me?.email ? ' (you)' : ''}
                  </td>
                  <td>
                    <label class="visually-hidden" for={`role-${user.id}`}>
                      Role of {user.email}
                    </label>
                    <select id={`role-${user.id}`} value={roles[user.id] ?? user.role} onChange={(event) => setRoles({ ...roles, [user.id]: event.currentTarget.value })}>
                      {ROLES.map((role) => (
                        <option value={role}>{role}</option>
                      ))}
                    </select>
                  </td>
                  <td>{time(user.created_at)}</td>
                  <td class="actions">
                    <button type="button" data-mutating class="secondary" disabled={!roles[user.id] || roles[user.id] === user.role} onClick={() => void change.run(user)} aria-label={`Save role of ${user.email}`}>
                      Save role
                    </button>
                    <button type="button" data-mutating class="secondary danger-text" disabled={user.email === me?.email} onClick={() => void remove.run(user)} aria-label={`Delete ${user.email}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
      </Section>
      <NewUser onCreated={users.reload} />
      <Section title="Roles">
        <dl class="roles">
          {ROLES.map((role) => (
            <div>
              <dt>{role}</dt>
              <dd>{ROLE_NOTES[role]}</dd>
            </div>
          ))}
        </dl>
      </Section>
    </>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const [form, setForm] = useState({ email: '', role: 'viewer', password: '' });
  const create = useAction(async () => {
    await call('POST', '/api/v1/users', { body: { email: form.email.trim(), role: form.role, password: form.password } });
    setForm({ email: '', role: 'viewer', password: '' });
    onCreated();
  });
  return (
    <Section title="Add a user">
      <form
        class="form-grid"
        onSubmit={(event) => {
          event.preventDefault();
          void create.run();
        }}
      >
        <Field id="user-email" label="Email" type="email" required autoComplete="off" value={form.email} onInput={(event) => setForm({ ...form, email: event.currentTarget.value })} />
        <SelectField id="user-role" label="Role" value={form.role} options={ROLES} onChange={(role) => setForm({ ...form, role })} />
        <Field id="user-password" label="Initial password" type="password" required autoComplete="new-password" value={form.password} onInput={(event) => setForm({ ...form, password: event.currentTarget.value })} />
        <div class="field-actions">
          <button type="submit" data-mutating disabled={create.busy}>
            Add user
          </button>
        </div>
      </form>
      <ErrorBanner message={create.error} />
    </Section>
  );
}
