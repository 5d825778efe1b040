// The app: before a profile is open, the first-run or unlock screen; after,
// the shell (sidebar + screen) with the toast area over everything.

import { useEffect, useState } from 'preact/hooks';
import * as api from './api';
import type { SyncStateDto } from './bindings';
import { syncLabel } from './lib/sync-state';
import { LoadError, Loading } from './components/ui';
import type { Route } from './lib/route';
import { ContactEditScreen, ContactNewScreen } from './screens/contact-form';
import { ContactScreen } from './screens/contact';
import { ContactsScreen } from './screens/contacts';
import { DashboardScreen } from './screens/dashboard';
import { AskScreen } from './screens/ask';
import { ComplianceScreen } from './screens/compliance';
import { CoursesScreen } from './screens/compliance-courses';
import { MatrixScreen } from './screens/compliance-matrix';
import { PersonScreen } from './screens/compliance-person';
import { PoliciesComplianceScreen } from './screens/compliance-policies';
import { PolicyComplianceScreen } from './screens/compliance-policy';
import { ReadingScreen } from './screens/compliance-reading';
import { StaffEditScreen, StaffNewScreen, StaffScreen } from './screens/compliance-staff';
import { DocumentScreen } from './screens/document';
import { DocumentsScreen } from './screens/documents';
import { DocViewerScreen } from './screens/doc-viewer';
import { FirstRunScreen } from './screens/first-run';
import { ImportScreen } from './screens/import';
import { PaymentsScreen } from './screens/payments';
import { PluginsScreen } from './screens/plugins';
import { StudioScreen } from './screens/studio';
import { AgencyScreen } from './screens/agency';
import { PoliciesScreen } from './screens/policies';
import { SettingsScreen } from './screens/settings';
import { SyncScreen } from './screens/sync';
import { TasksScreen } from './screens/tasks';
import { UnlockScreen } from './screens/unlock';
import { route } from './state/router';
import { arrivals } from './state/arrivals';
import { profile, profileError, refreshMeta, refreshProfile } from './state/session';
import { dismissToast, pushNotices, toasts } from './state/toasts';

api.setNoticeSink(pushNotices);
api.setLockedHandler(() => void refreshProfile());

const NAV: { name: Route['name']; label: string; icon: string; admin?: boolean }[] = [
  { name: 'dashboard', label: 'Dashboard', icon: '◧' },
  { name: 'contacts', label: 'Contacts', icon: '☰' },
  { name: 'policies', label: 'Policies', icon: '▤' },
  { name: 'payments', label: 'Payments', icon: '£' },
  { name: 'tasks', label: 'Tasks', icon: '✓' },
  { name: 'import', label: 'Import', icon: '⇪' },
  { name: 'documents', label: 'Documents', icon: '❏' },
  { name: 'ask', label: 'Ask', icon: '?' },
  { name: 'compliance', label: 'Compliance', icon: '✚' },
  { name: 'plugins', label: 'Plugins', icon: '◆' },
  { name: 'studio', label: 'Studio', icon: '✎' },
  { name: 'agency', label: 'Agency', icon: '⌂', admin: true },
  { name: 'sync', label: 'Sync', icon: '⇅' },
  { name: 'settings', label: 'Settings', icon: '⚙' },
];

function section(r: Route): Route['name'] {
  if (r.name === 'contact' || r.name === 'contact-new' || r.name === 'contact-edit') return 'contacts';
  if (r.name === 'document' || r.name === 'doc-view') return 'documents';
  if (r.name.startsWith('compliance')) return 'compliance';
  return r.name;
}

function Screen(props: { route: Route }) {
  const r = props.route;
  switch (r.name) {
    case 'dashboard':
      return <DashboardScreen />;
    case 'contacts':
      return <ContactsScreen />;
    case 'contact-new':
      return <ContactNewScreen />;
    case 'contact':
      return <ContactScreen key={r.id} id={r.id} />;
    case 'contact-edit':
      return <ContactEditScreen key={r.id} id={r.id} />;
    case 'policies':
      return <PoliciesScreen />;
    case 'payments':
      return <PaymentsScreen />;
    case 'tasks':
      return <TasksScreen />;
    case 'import':
      return <ImportScreen />;
    case 'plugins':
      return <PluginsScreen />;
    case 'studio':
      return <StudioScreen />;
    case 'agency':
      return <AgencyScreen />;
    case 'sync':
      return <SyncScreen />;
    case 'settings':
      return <SettingsScreen />;
    case 'documents':
      return <DocumentsScreen />;
    case 'document':
      return <DocumentScreen key={r.id} id={r.id} />;
    case 'doc-view':
      return <DocViewerScreen id={r.id} version={r.version} page={r.page} {...(r.start !== undefined && r.end !== undefined ? { start: r.start, end: r.end } : {})} />;
    case 'ask':
      return <AskScreen />;
    case 'compliance':
      return <ComplianceScreen />;
    case 'compliance-staff':
      return <StaffScreen />;
    case 'compliance-staff-new':
      return <StaffNewScreen />;
    case 'compliance-person':
      return <PersonScreen key={r.id} id={r.id} />;
    case 'compliance-person-edit':
      return <StaffEditScreen key={r.id} id={r.id} />;
    case 'compliance-matrix':
      return <MatrixScreen />;
    case 'compliance-courses':
      return <CoursesScreen />;
    case 'compliance-policies':
      return <PoliciesComplianceScreen />;
    case 'compliance-policy':
      return <PolicyComplianceScreen key={r.id} id={r.id} />;
    case 'compliance-reading':
      return <ReadingScreen />;
  }
}

function SyncState() {
  const [state, setState] = useState<SyncStateDto | null>(null);
  useEffect(() => {
    let live = true;
    const poll = () =>
      api.syncState().then(
        (s) => live && setState(s),
        () => live && setState(null),
      );
    void poll();
    const timer = setInterval(() => void poll(), 2000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (!state) return null;
  return (
    <a class={`sync-state sync-${state.state}`} href="#/sync" data-testid="sync-state" title={state.message ?? undefined}>
      {syncLabel(state)}
    </a>
  );
}

/** Whether this profile is signed in as an admin of its agency (the admin console shows). */
function useAdmin(): boolean {
  const [admin, setAdmin] = useState(false);
  const r = route.value;
  useEffect(() => {
    let live = true;
    api.syncStatus().then(
      (s) => live && setAdmin(s.admin),
      () => live && setAdmin(false),
    );
    return () => {
      live = false;
    };
  }, [r.name]);
  return admin;
}

function Shell() {
  const r = route.value;
  const current = section(r);
  const admin = useAdmin();
  return (
    <div class="shell">
      <nav class="sidebar" aria-label="Main">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true">
            IC
          </span>
          Insurance CRM
        </div>
        {NAV.filter((n) => !n.admin || admin).map((n) => (
          <a
            key={n.name}
            class="nav-link"
            href={`#/${n.name}`}
            data-testid={`nav-${n.name}`}
            aria-current={current === n.name ? 'page' : undefined}
          >
            <span class="nav-icon" aria-hidden="true">
              {n.icon}
            </span>
            {n.label}
          </a>
        ))}
        <SyncState />
        <div class="sidebar-foot">Your data stays encrypted on this computer.</div>
      </nav>
      <main class="main" id="main">
        <Screen route={r} />
      </main>
    </div>
  );
}

function Toasts() {
  return (
    <div class="toasts" aria-live="polite" aria-relevant="additions">
      {toasts.value.map((t) => (
        <div key={t.id} class={`toast-card ${t.level}`} role={t.level === 'error' ? 'alert' : 'status'}>
          <div class="toast-body">
            <div data-testid="toast">{t.message}</div>
            {t.source && <div class="toast-source">from {t.source}</div>}
          </div>
          <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => dismissToast(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

function Gate() {
  const p = profile.value;
  const err = profileError.value;
  if (!p) {
    return (
      <div class="gate">
        <div class="gate-card card">
          {err ? <LoadError error={err} onRetry={() => void refreshProfile()} /> : <Loading label="Opening…" />}
        </div>
      </div>
    );
  }
  if (p.unlocked) return <Shell />;
  if (!p.exists) return <FirstRunScreen state={p} />;
  return <UnlockScreen state={p} />;
}

export function App() {
  useEffect(() => {
    void refreshProfile();
    // Changes from other devices: screens showing records load them again,
    // and the forms' choices (owners, tags) may have changed too.
    const unlisten = api.onRecordsChanged(() => {
      arrivals.value++;
      void refreshMeta();
    });
    return () => void unlisten.then((f) => f());
  }, []);
  return (
    <>
      <Gate />
      <Toasts />
    </>
  );
}
