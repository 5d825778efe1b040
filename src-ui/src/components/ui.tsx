// Small building blocks every screen uses, so spacing, errors, empty and
// loading states look the same everywhere.

import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { ApiError } from '../lib/api-error';

export function PageHeader(props: { title: string; subtitle?: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p>{props.subtitle}</p>}
      </div>
      {props.children && <div class="row">{props.children}</div>}
    </header>
  );
}

/** An error for people: the message in an alert box. `form-error` in forms. */
export function ErrorBox(props: { error: ApiError | null; testid?: string; title?: string }) {
  if (!props.error) return null;
  return (
    <div class="alert" role="alert" tabIndex={-1} data-testid={props.testid ?? 'form-error'}>
      {props.title && <strong>{props.title}</strong>}
      {props.error.message}
    </div>
  );
}

/** A load failure with a way to try again. */
export function LoadError(props: { error: ApiError | null; onRetry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="alert" role="alert" data-testid="load-error">
      <strong>Could not load this</strong>
      <div class="row">
        <span>{props.error.message}</span>
        {props.onRetry && (
          <button type="button" class="btn btn-sm" onClick={props.onRetry}>
            Try again
          </button>
        )}
      </div>
    </div>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {props.label ?? 'Loading…'}
    </div>
  );
}

export function EmptyState(props: { title: string; children?: ComponentChildren; testid?: string }) {
  return (
    <div class="empty" data-testid={props.testid}>
      <div class="empty-title">{props.title}</div>
      {props.children}
    </div>
  );
}

export type BadgeTone = 'ok' | 'warn' | 'danger' | 'accent' | 'plain';

export function Badge(props: { tone?: BadgeTone; children: ComponentChildren; testid?: string; title?: string }) {
  const tone = props.tone && props.tone !== 'plain' ? ` badge-${props.tone}` : '';
  return (
    <span class={`badge${tone}`} data-testid={props.testid} title={props.title}>
      {props.children}
    </span>
  );
}

/**
 * A labelled control with its hint and inline error. The control is passed
 * as a render function so it gets the right id and aria attributes.
 */
export function Field(props: {
  label: string;
  name: string;
  error?: string | null;
  hint?: ComponentChildren;
  required?: boolean;
  class?: string;
  children: (a: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ComponentChildren;
}) {
  const id = useId();
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const describedBy = [props.error ? errId : null, props.hint ? hintId : null].filter(Boolean).join(' ');
  return (
    <div class={`field ${props.class ?? ''}`}>
      <label class="field-label" for={id}>
        {props.label}
        {props.required && (
          <span class="req" aria-hidden="true">
            *
          </span>
        )}
      </label>
      {props.children({ id, 'aria-invalid': Boolean(props.error), ...(describedBy ? { 'aria-describedby': describedBy } : {}) })}
      {props.hint && !props.error && (
        <span class="field-hint" id={hintId}>
          {props.hint}
        </span>
      )}
      {props.error && (
        <span class="field-error" id={errId} data-testid={`error-${props.name}`}>
          {props.error}
        </span>
      )}
    </div>
  );
}

/** A modal dialog: focus moves in, Escape closes, focus returns afterwards. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; testid?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(props.onClose);
  onCloseRef.current = props.onClose;
  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button');
    (first ?? ref.current)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onCloseRef.current();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus();
    };
  }, []);
  const onBackdrop = (e: JSX.TargetedMouseEvent<HTMLDivElement>) => {
    if (e.target === e.currentTarget) props.onClose();
  };
  return (
    <div class="modal-backdrop" onMouseDown={onBackdrop}>
      <div class="modal" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref} tabIndex={-1} data-testid={props.testid}>
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}

/** A figure card for the dashboard. */
export function Figure(props: { label: string; value: ComponentChildren; hint?: string; href?: string; testid?: string }) {
  const body = (
    <div class="figure">
      <span class="figure-label">{props.label}</span>
      <span class="figure-value" data-testid={props.testid}>
        {props.value}
      </span>
      {props.hint && <span class="figure-hint">{props.hint}</span>}
    </div>
  );
  return props.href ? (
    <a class="card card-tight" href={props.href}>
      {body}
    </a>
  ) : (
    <div class="card card-tight">{body}</div>
  );
}

/** Options for a select from a list of codes, shown as words. */
export function Options(props: { values: readonly string[]; blank?: string }) {
  return (
    <>
      {props.blank !== undefined && <option value="">{props.blank}</option>}
      {props.values.map((v) => (
        <option key={v} value={v}>
          {words(v)}
        </option>
      ))}
    </>
  );
}

/** "due_today" → "Due today". */
export function words(code: string): string {
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The value of an input event's target. */
export function inputValue(e: Event): string {
  const t = e.currentTarget;
  return t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement ? t.value : '';
}
