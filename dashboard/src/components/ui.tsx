import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** The page's main heading; focused on navigation so screen readers announce the new page. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus({ preventScroll: true }), []);
  return (
    <h1 ref={heading} tabIndex={-1} class="page-title">
      {children}
    </h1>
  );
}

/** A failure the user must see: announced at once (role alert). */
export function ErrorBanner({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <div class="error-banner" role="alert">
      {message}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ComponentChildren; tone?: 'info' | 'success' | 'warn' }) {
  return (
    <div class={`notice notice-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** ok / warn / fail, succeeded / failed / running: a word and a colour, never colour alone. */
export function StatusBadge({ status }: { status: string }) {
  const tone = /^(ok|succeeded|success|true|enabled|keep)$/.test(status) ? 'good' : /^(warn|running|queued|paused|interrupted)$/.test(status) ? 'warn' : /^(fail|failed|failure|denied|false|remove)$/.test(status) ? 'bad' : 'neutral';
  return <span class={`badge badge-${tone}`}>{status}</span>;
}

/** Tables scroll sideways on narrow screens instead of breaking the layout. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </div>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <div class="card-head">
        <h2>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

type InputProps = InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string; type?: string };

/** A labelled input; the hint is linked with aria-describedby. */
export function Field({ label, hint, id, ...input }: InputProps & { id: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} {...input} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
    </div>
  );
}

export function SelectField({ label, id, value, options, onChange, hint, required }: { label: string; id: string; value: string; options: readonly (string | { value: string; label: string })[]; onChange: (value: string) => void; hint?: string; required?: boolean }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} required={required} onChange={(event) => onChange(event.currentTarget.value)} aria-describedby={hint ? `${id}-hint` : undefined}>
        {options.map((option) => (typeof option === 'string' ? <option value={option}>{option}</option> : <option value={option.value}>{option.label}</option>))}
      </select>
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
    </div>
  );
}

export function CheckField({ label, id, checked, onChange, hint }: { label: string; id: string; checked: boolean; onChange: (checked: boolean) => void; hint?: string }) {
  return (
    <div class="field field-check">
      <input type="checkbox" id={id} checked={checked} onChange={(event) => onChange(event.currentTarget.checked)} aria-describedby={hint ? `${id}-hint` : undefined} />
      <label for={id}>{label}</label>
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
    </div>
  );
}

/** Key figures shown as a row of tiles. */
export function Figures({ items }: { items: { label: string; value: string; tone?: string }[] }) {
  return (
    <dl class="figures">
      {items.map((item) => (
        <div class={`figure ${item.tone ? `figure-${item.tone}` : ''}`}>
          <dt>{item.label}</dt>
          <dd>{item.value}</dd>
        </div>
      ))}
    </dl>
  );
}
