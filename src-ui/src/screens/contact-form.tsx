// Create and edit a contact. Validation happens on the Rust side; its
// `invalid` errors are shown under the field they name.

import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import type { ContactDto } from '../bindings';
import { ErrorBox, Field, LoadError, Loading, Modal, Options, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import {
  ADDRESS_DETAILS,
  changedFields,
  detailValue,
  draftFromContact,
  draftToForm,
  emptyDraft,
  inputForErrorField,
  withDetail,
  type ContactDraft,
} from '../lib/contact-form';
import { navigate } from '../state/router';
import { EMPTY_META, meta, refreshMeta } from '../state/session';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function ContactNewScreen() {
  const m = meta.value ?? EMPTY_META;
  const initial = emptyDraft(m.kinds.includes('person') ? 'person' : (m.kinds[0] ?? 'person'), m.stages[0] ?? '');
  return <ContactFormView initial={initial} contact={null} />;
}

export function ContactEditScreen(props: { id: string }) {
  const detail = useLoader(() => api.contactDetail(props.id), [props.id]);
  if (detail.error) {
    return (
      <div class="page">
        <LoadError error={detail.error} onRetry={() => void detail.reload()} />
      </div>
    );
  }
  if (!detail.data) {
    return (
      <div class="page">
        <Loading />
      </div>
    );
  }
  return <ContactFormView initial={draftFromContact(detail.data.contact)} contact={detail.data.contact} />;
}

/** Where the layout places details; any other declared detail shows under "More". */
const PLACED_DETAILS = new Set(['job_title', 'source', ...ADDRESS_DETAILS]);

/** Inputs whose backend name differs from the test id used for them. */
const TEST_IDS: Partial<Record<keyof ContactDraft, string>> = { emails: 'field-email', phones: 'field-phone' };

function ContactFormView(props: { initial: ContactDraft; contact: ContactDto | null }) {
  const m = meta.value ?? EMPTY_META;
  const [draft, setDraft] = useState<ContactDraft>(props.initial);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const editing = props.contact !== null;
  const formRef = useRef<HTMLFormElement>(null);

  // After a failed save, take the person to the field (or the message).
  useEffect(() => {
    if (!error) return;
    const target = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]') ?? formRef.current?.querySelector<HTMLElement>('[role="alert"]');
    target?.focus();
    target?.scrollIntoView({ block: 'center' });
  }, [error]);

  const errorInput = error && error.code === 'invalid' ? inputForErrorField(error.field) : null;
  const errFor = (input: string) => (errorInput === input && error ? error.message : null);
  const shownInline = new Set([
    'kind',
    'first_name',
    'last_name',
    'company_name',
    'stage',
    'owner',
    'tags',
    'email',
    'phone',
    'date_of_birth',
    ...m.contact_details.map((d) => d.name),
  ]);
  const boxError = error && !(errorInput && shownInline.has(errorInput)) ? error : null;

  const text = (key: Exclude<keyof ContactDraft, 'details'>, label: string, opts: { errorName?: string; placeholder?: string; hint?: string; span?: boolean; type?: string } = {}) => {
    const errName = opts.errorName ?? key;
    return (
      <Field label={label} name={errName} error={errFor(errName)} hint={opts.hint} class={opts.span ? 'span-2' : ''}>
        {(a) => (
          <input
            {...a}
            class="input"
            type={opts.type ?? 'text'}
            placeholder={opts.placeholder}
            data-testid={TEST_IDS[key] ?? `field-${key}`}
            value={draft[key]}
            onInput={(e) => setDraft({ ...draft, [key]: inputValue(e) })}
          />
        )}
      </Field>
    );
  };

  /** A declared detail's input: a choice list, a text area or a line, as declared. */
  const detail = (name: string, opts: { label?: string; hint?: string; span?: boolean } = {}) => {
    const spec = m.contact_details.find((d) => d.name === name);
    if (!spec) return null;
    const value = detailValue(draft, name);
    const set = (e: Event) => setDraft(withDetail(draft, name, inputValue(e)));
    const long = spec.long || opts.span;
    return (
      <Field key={name} label={opts.label ?? spec.label} name={name} error={errFor(name)} hint={opts.hint} class={long ? 'span-2' : ''}>
        {(a) =>
          spec.choices.length ? (
            <select {...a} class="select" data-testid={`field-${name}`} value={value} onChange={set}>
              <Options values={spec.choices} blank="Not set" />
            </select>
          ) : spec.long ? (
            <textarea {...a} class="input" data-testid={`field-${name}`} value={value} onInput={set} />
          ) : (
            <input {...a} class="input" type="text" data-testid={`field-${name}`} value={value} onInput={set} />
          )
        }
      </Field>
    );
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const form = draftToForm(draft);
      const saved = props.contact
        ? await api.contactUpdate(props.contact.id, {
            ...form,
            changed: changedFields(draftFromContact(props.contact), draft),
          })
        : await api.contactCreate(form);
      void refreshMeta();
      pushToast('success', editing ? 'Contact saved' : `${saved.display_name} added`);
      navigate({ name: 'contact', id: saved.id });
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!props.contact) return;
    setBusy(true);
    try {
      await api.contactDelete(props.contact.id);
      pushToast('success', `${props.contact.display_name} deleted`);
      void refreshMeta();
      navigate({ name: 'contacts' });
    } catch (err) {
      setError(toApiError(err));
      setConfirmDelete(false);
    } finally {
      setBusy(false);
    }
  };

  const company = draft.kind === 'company';

  return (
    <div class="page">
      <PageHeader title={editing ? `Edit ${props.contact?.display_name ?? 'contact'}` : 'New contact'}>
        <button
          type="button"
          class="btn"
          onClick={() => (props.contact ? navigate({ name: 'contact', id: props.contact.id }) : navigate({ name: 'contacts' }))}
        >
          Cancel
        </button>
      </PageHeader>
      <form class="card form" onSubmit={save} noValidate ref={formRef}>
        <ErrorBox error={boxError} />
        <div class="form-grid">
          <Field label="Kind" name="kind" error={errFor('kind')}>
            {(a) => (
              <select {...a} class="select" data-testid="field-kind" value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: inputValue(e) })}>
                <Options values={m.kinds.length ? m.kinds : ['person', 'company']} />
              </select>
            )}
          </Field>
          <Field label="Stage" name="stage" error={errFor('stage')}>
            {(a) => (
              <select {...a} class="select" data-testid="field-stage" value={draft.stage} onChange={(e) => setDraft({ ...draft, stage: inputValue(e) })}>
                <Options values={m.stages} blank={m.stages.length ? undefined : 'Default'} />
              </select>
            )}
          </Field>
          {text('first_name', 'First name')}
          {text('last_name', 'Last name')}
          {text('company_name', company ? 'Company name' : 'Company')}
          {detail('job_title')}
          {text('emails', 'Email', { errorName: 'email', type: 'text', hint: 'Separate several with commas; the first is the main one.' })}
          {text('phones', 'Phone', { errorName: 'phone', hint: 'Separate several with commas.' })}
          <Field label="Owner" name="owner" error={errFor('owner')} hint="Who looks after this client.">
            {(a) => (
              <>
                <input
                  {...a}
                  class="input"
                  list="owner-choices"
                  data-testid="field-owner"
                  value={draft.owner}
                  onInput={(e) => setDraft({ ...draft, owner: inputValue(e) })}
                />
                <datalist id="owner-choices">
                  {m.owners.map((o) => (
                    <option key={o} value={o} />
                  ))}
                </datalist>
              </>
            )}
          </Field>
          {text('tags', 'Tags', { hint: m.tags.length ? `Comma separated. In use: ${m.tags.slice(0, 8).join(', ')}` : 'Comma separated.' })}
        </div>
        <h3>Address</h3>
        <div class="form-grid">
          {detail('address_line1', { span: true })}
          {detail('address_line2', { span: true })}
          {detail('city', { label: 'Town or city' })}
          {detail('region', { label: 'County' })}
          {detail('postcode')}
          {detail('country')}
        </div>
        <h3>More</h3>
        <div class="form-grid">
          {text('date_of_birth', 'Date of birth', { placeholder: 'YYYY-MM-DD' })}
          {detail('source', { hint: 'Where this client came from (referral, website…).' })}
          {m.contact_details.filter((d) => !PLACED_DETAILS.has(d.name)).map((d) => detail(d.name))}
        </div>
        <div class="form-actions">
          {editing && (
            <>
              <button type="button" class="btn btn-danger" data-testid="delete-contact" onClick={() => setConfirmDelete(true)}>
                Delete contact
              </button>
              <span class="spacer" />
            </>
          )}
          <button type="submit" class="btn btn-primary" data-testid="save-contact" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : 'Add contact'}
          </button>
        </div>
      </form>
      {confirmDelete && props.contact && (
        <Modal title={`Delete ${props.contact.display_name}?`} onClose={() => setConfirmDelete(false)}>
          <p>This removes the contact from your book. It cannot be undone.</p>
          <div class="form-actions">
            <button type="button" class="btn" onClick={() => setConfirmDelete(false)}>
              Keep
            </button>
            <button type="button" class="btn btn-danger-solid" data-testid="confirm-delete" disabled={busy} onClick={() => void remove()}>
              Delete
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
