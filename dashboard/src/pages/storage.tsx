import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { ErrorBanner, Field, Loading, PageTitle, Section, SelectField, StatusBadge, TableWrap } from '../components/ui.js';
import { STORAGE_BACKEND_TYPES } from '../enums.js';
import { bytes, duration, time } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { useCan } from '../session-context.js';
import type { Page, StorageBackend, StorageTest } from '../types.js';

/** A starting config per type; secrets are references to the server's environment (`env:NAME`). */
const CONFIG_TEMPLATES: Record<string, Record<string, string>> = {
  aws_s3: { bucket_name: '', region: 'us-east-1', access_key_id: 'env:AWS_ACCESS_KEY_ID', secret_access_key: 'env:AWS_SECRET_ACCESS_KEY' },
  s3_compatible: { bucket_name: '', endpoint_url: 'https://', access_key_id: 'env:AWS_ACCESS_KEY_ID', secret_access_key: 'env:AWS_SECRET_ACCESS_KEY' },
  gcs: { bucket_name: '', credentials_file: '/etc/chrono-backup/gcs.json' },
  azure: { container_name: '', account_name: '', account_key: 'env:AZURE_STORAGE_KEY' },
  sftp: { host: '', username: '', path: '/backups', password: 'env:CHRONO_BACKUP_SFTP_PASSWORD' },
  ftp: { host: '', username: '', path: '/backups', password: 'env:CHRONO_BACKUP_FTP_PASSWORD' },
};

export function StoragePage() {
  const can = useCan();
  const backends = useLoad(() => call<Page<StorageBackend>>('GET', '/api/v1/backup/storage-backends'), []);
  const [tests, setTests] = useState<Record<number, StorageTest | 'running'>>({});
  const test = useAction(async (backend: StorageBackend) => {
    setTests((previous) => ({ ...previous, [backend.id]: 'running' }));
    try {
      const result = await call<StorageTest>('POST', `/api/v1/backup/storage-backends/${backend.id}/test`);
      setTests((previous) => ({ ...previous, [backend.id]: result }));
    } catch (error) {
      setTests(({ [backend.id]: _dropped, ...rest }) => rest);
      throw error;
    }
  });
  const remove = useAction(async (backend: StorageBackend) => {
    if (!window.confirm(`Forget storage backend "${backend.name}"? Its data stays where it is.`)) return;
    await call('DELETE', `/api/v1/backup/storage-backends/${backend.id}`);
    backends.reload();
  });
  return (
    <>
      <PageTitle>Storage backends</PageTitle>
      <Section title="Backends">
        <ErrorBanner message={backends.error ?? test.error ?? remove.error} />
        {backends.loading && !backends.data && <Loading what="storage backends" />}
        {backends.data && backends.data.items.length === 0 && <p class="muted">No storage backends yet: backups go to the default repository.</p>}
        {backends.data && backends.data.items.length > 0 && (
          <TableWrap label="Storage backends">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Configuration</th>
                <th scope="col">Added</th>
                {can('backends.write') && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {backends.data.items.map((backend) => (
                <tr>
                  <td>{backend.name}</td>
                  <td>{backend.backend_type}</td>
                  <td>
                    <code class="config">{Object.entries(backend.config_data).map(([key, value]) => `${key}=${String(value)}`).join(' ')}</code>
                  </td>
                  <td>{time(backend.created_at)}</td>
                  {can('backends.write') && (
                    <td class="actions">
                      <button type="button" data-mutating class="secondary" disabled={tests[backend.id] === 'running'} onClick={() => void test.run(backend)} aria-label={`Test ${backend.name}`}>
                        {tests[backend.id] === 'running' ? 'Testing…' : 'Test'}
                      </button>
                      <button type="button" data-mutating class="secondary danger-text" onClick={() => void remove.run(backend)} aria-label={`Remove ${backend.name}`}>
                        Remove
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
        {Object.entries(tests).map(([id, result]) => {
          const backend = backends.data?.items.find((item) => item.id === Number(id));
          return result !== 'running' && backend ? <TestResult name={backend.name} result={result} /> : null;
        })}
      </Section>
      {can('backends.write') && <AddBackend onAdded={backends.reload} />}
    </>
  );
}

function TestResult({ name, result }: { name: string; result: StorageTest }) {
  return (
    <div class="test-result" data-test-ok={String(result.ok)}>
      <h3>
        Test of {name}: <StatusBadge status={result.ok ? 'ok' : 'fail'} />
      </h3>
      {result.error && <p>{result.error.message}</p>}
      <TableWrap label={`Test steps of ${name}`}>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Status</th>
            <th scope="col">Latency</th>
            <th scope="col">Throughput</th>
          </tr>
        </thead>
        <tbody>
          {result.steps.map((step) => (
            <tr>
              <td>{step.step}</td>
              <td>
                <StatusBadge status={step.status} />
                {step.error && <span> {step.error.message}</span>}
              </td>
              <td>{duration(step.latencyMs)}</td>
              <td>{step.bytesPerSecond ? `${bytes(step.bytesPerSecond)}/s` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
    </div>
  );
}

function AddBackend({ onAdded }: { onAdded: () => void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<string>('local');
  const [basePath, setBasePath] = useState('');
  const [config, setConfig] = useState('');
  const add = useAction(async () => {
    let configData: unknown;
    if (type === 'local') configData = { base_path: basePath.trim() };
    else {
      try {
        configData = JSON.parse(config || '{}');
      } catch {
        throw new Error('The configuration is not valid JSON.');
      }
    }
    await call('POST', '/api/v1/backup/storage-backends', { body: { name: name.trim(), backend_type: type, config_data: configData } });
    setName('');
    setBasePath('');
    onAdded();
  });
  return (
    <Section title="Add a storage backend">
      <form
        class="form-grid"
        onSubmit={(event) => {
          event.preventDefault();
          void add.run();
        }}
      >
        <Field id="backend-name" label="Name" required value={name} onInput={(event) => setName(event.currentTarget.value)} />
        <SelectField
          id="backend-type"
          label="Type"
          value={type}
          options={STORAGE_BACKEND_TYPES}
          onChange={(value) => {
            setType(value);
            setConfig(JSON.stringify(CONFIG_TEMPLATES[value] ?? {}, null, 2));
          }}
        />
        {type === 'local' ? (
          <Field id="backend-path" label="Base path" required value={basePath} placeholder="/mnt/backups" onInput={(event) => setBasePath(event.currentTarget.value)} hint="An absolute path on the server." />
        ) : (
          <div class="field field-wide">
            <label for="backend-config">Configuration (JSON)</label>
            <textarea id="backend-config" rows={6} value={config} onInput={(event) => setConfig(event.currentTarget.value)} aria-describedby="backend-config-hint" />
            <p id="backend-config-hint" class="hint">
              Secrets only as references to the server's environment, such as "env:AWS_SECRET_ACCESS_KEY".
            </p>
          </div>
        )}
        <div class="field-actions">
          <button type="submit" data-mutating disabled={add.busy}>
            Add backend
          </button>
        </div>
      </form>
      <ErrorBanner message={add.error} />
    </Section>
  );
}
