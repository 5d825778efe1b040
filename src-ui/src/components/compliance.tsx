// What every Compliance screen shares: the area's tabs (only those the
// person may use), a standing shown as a mark and a word, and a file path
// with its "Choose…" button (the dialog is the shell's; no file system in
// the window).

import type { ComponentChildren } from 'preact';
import type { ComplianceAccessDto, StandingDto } from '../bindings';
import { toApiError, type ApiError } from '../lib/api-error';
import { STANDING_LABEL, STANDING_MARK, STANDING_TONE } from '../lib/compliance';
import { chooseFile, chooseSavePath, type Filter } from '../lib/dialogs';
import type { Route } from '../lib/route';
import { routeHref } from '../lib/route';
import { Badge, Field, inputValue } from './ui';

type Tab = { route: Route; label: string; show: (a: ComplianceAccessDto | null) => boolean };

const TABS: Tab[] = [
  { route: { name: 'compliance' }, label: 'Overview', show: () => true },
  { route: { name: 'compliance-staff' }, label: 'Staff', show: (a) => a?.sees_staff ?? false },
  { route: { name: 'compliance-matrix' }, label: 'Training matrix', show: (a) => a?.sees_staff ?? false },
  { route: { name: 'compliance-courses' }, label: 'Courses', show: (a) => a?.admin ?? false },
  { route: { name: 'compliance-policies' }, label: 'Policies', show: () => true },
  { route: { name: 'compliance-reading' }, label: 'My reading', show: () => true },
];

/** The area's own navigation; `current` is the tab to mark. */
export function ComplianceTabs(props: { current: Route['name']; access: ComplianceAccessDto | null }) {
  return (
    <nav class="tabs" aria-label="Compliance">
      {TABS.filter((t) => t.show(props.access)).map((t) => (
        <a
          key={t.route.name}
          class="tab"
          href={routeHref(t.route)}
          aria-current={props.current === t.route.name ? 'page' : undefined}
          data-testid={`compliance-tab-${t.route.name}`}
        >
          {t.label}
        </a>
      ))}
    </nav>
  );
}

/** "✓ Valid", "✗ Expired": a mark and a word, coloured too. */
export function StandingBadge(props: { standing: StandingDto; testid?: string; label?: string; title?: string }) {
  return (
    <Badge tone={STANDING_TONE[props.standing]} testid={props.testid} title={props.title}>
      {`${STANDING_MARK[props.standing]} ${props.label ?? STANDING_LABEL[props.standing]}`}
    </Badge>
  );
}

/** A path typed or chosen in the shell's file dialog (open or save). */
export function PathField(props: {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  error: string | null;
  testid: string;
  mode: 'open' | 'save';
  filters: Filter[];
  dialogTitle: string;
  defaultName?: string;
  hint?: ComponentChildren;
  onDialogError: (e: ApiError) => void;
}) {
  const browse = async () => {
    try {
      const picked = props.mode === 'open' ? await chooseFile(props.filters, props.dialogTitle) : await chooseSavePath(props.defaultName ?? '', props.filters, props.dialogTitle);
      if (picked) props.onChange(picked);
    } catch (e) {
      props.onDialogError(toApiError(e));
    }
  };
  return (
    <Field label={props.label} name={props.name} error={props.error} hint={props.hint}>
      {(a) => (
        <div class="row path-field">
          <input {...a} class="input spacer" data-testid={props.testid} value={props.value} onInput={(e) => props.onChange(inputValue(e))} />
          <button type="button" class="btn" data-testid={`${props.testid}-browse`} onClick={() => void browse()}>
            Choose…
          </button>
        </div>
      )}
    </Field>
  );
}

export const EVIDENCE_FILTERS: Filter[] = [{ name: 'Documents and pictures', extensions: ['pdf', 'docx', 'png', 'jpg', 'jpeg'] }];
export const PDF_FILTERS: Filter[] = [{ name: 'PDF', extensions: ['pdf'] }];
