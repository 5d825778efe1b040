// Courses: the matrix's columns, each with a category, a renewal period
// (months; none: never lapses) and whether it is in the matrix. Admins add
// and change them; a record keeps the expiry it was given.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { ComplianceMetaDto, CourseDto, CourseForm } from '../bindings';
import { ComplianceTabs } from '../components/compliance';
import { ErrorBox, Field, LoadError, Loading, PageHeader, inputValue, words } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { testId } from '../lib/testid';
import { useComplianceMeta } from '../state/compliance';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

function formOf(c: CourseDto | null): CourseForm {
  return {
    name: c?.name ?? '',
    category: c?.category ?? 'mandatory',
    renewal_months: c?.renewal_months != null ? String(c.renewal_months) : '',
    active: c?.active ?? true,
  };
}

export function CoursesScreen() {
  const meta = useComplianceMeta();
  const courses = useLoader(() => api.complianceCourses(true), [], { live: true });
  const [editing, setEditing] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const admin = meta?.access.admin ?? false;
  const reload = () => void courses.reload();
  return (
    <div class="page">
      <PageHeader title="Courses" subtitle="The training the matrix follows, and how often each must be renewed.">
        {admin && (
          <button type="button" class="btn btn-primary" data-testid="course-add-open" onClick={() => setAdding(!adding)}>
            {adding ? 'Close' : 'Add a course'}
          </button>
        )}
      </PageHeader>
      <ComplianceTabs current="compliance-courses" access={meta?.access ?? null} />
      {adding && meta && (
        <section class="card">
          <CourseFormView
            course={null}
            meta={meta}
            onSaved={() => {
              setAdding(false);
              reload();
            }}
          />
        </section>
      )}
      <LoadError error={courses.error} onRetry={reload} />
      {!courses.data && !courses.error && <Loading />}
      {courses.data && meta && (
        <div class="card">
          <table class="table" data-testid="courses-table">
            <thead>
              <tr>
                <th>Course</th>
                <th>Category</th>
                <th>Renewed every</th>
                <th>In the matrix</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {courses.data.map((c) =>
                editing === c.id ? (
                  <tr key={c.id}>
                    <td colSpan={5}>
                      <CourseFormView
                        course={c}
                        meta={meta}
                        onSaved={() => {
                          setEditing(null);
                          reload();
                        }}
                        onCancel={() => setEditing(null)}
                      />
                    </td>
                  </tr>
                ) : (
                  <tr key={c.id} data-testid={testId('course-row', c.id)} class={c.active ? '' : 'paid'}>
                    <td>{c.name}</td>
                    <td>{words(c.category)}</td>
                    <td>{c.renewal_months ? `${c.renewal_months} months` : 'never lapses'}</td>
                    <td>{c.active ? 'Yes' : 'No'}</td>
                    <td>
                      {admin && (
                        <button type="button" class="btn btn-sm" data-testid={testId('course-edit', c.id)} onClick={() => setEditing(c.id)}>
                          Change
                        </button>
                      )}
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function CourseFormView(props: { course: CourseDto | null; meta: ComplianceMetaDto; onSaved: () => void; onCancel?: () => void }) {
  const [form, setForm] = useState<CourseForm>(formOf(props.course));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const c = props.course ? await api.complianceCourseEdit(props.course.id, form) : await api.complianceCourseAdd(form);
      pushToast('success', props.course ? `${c.name} saved` : `${c.name} added`);
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = error !== null && error.code === 'invalid' && ['name', 'category', 'renewal_months'].includes(error.field ?? '');
  return (
    <form class="form" onSubmit={save} noValidate data-testid="course-form">
      <ErrorBox error={inline ? null : error} testid="course-error" />
      <div class="form-grid">
        <Field label="Name" name="name" error={fieldError(error, 'name')}>
          {(a) => <input {...a} class="input" data-testid="course-name" value={form.name} onInput={(e) => setForm({ ...form, name: inputValue(e) })} />}
        </Field>
        <Field label="Category" name="category" error={fieldError(error, 'category')}>
          {(a) => (
            <select {...a} class="select" data-testid="course-category" value={form.category} onChange={(e) => setForm({ ...form, category: inputValue(e) })}>
              {props.meta.course_categories.map((c) => (
                <option key={c} value={c}>
                  {words(c)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Renewed every (months)" name="renewal_months" error={fieldError(error, 'renewal_months')} hint="Empty: never lapses.">
          {(a) => <input {...a} class="input" inputMode="numeric" data-testid="course-renewal" value={form.renewal_months} onInput={(e) => setForm({ ...form, renewal_months: inputValue(e) })} />}
        </Field>
        <label class="check">
          <input type="checkbox" data-testid="course-active" checked={form.active} onChange={() => setForm({ ...form, active: !form.active })} />
          In the matrix
        </label>
      </div>
      <div class="form-actions">
        {props.onCancel && (
          <button type="button" class="btn" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" class="btn btn-primary" data-testid="course-save" disabled={busy}>
          {busy ? 'Saving…' : props.course ? 'Save course' : 'Add course'}
        </button>
      </div>
    </form>
  );
}
