// The dashboard: today's figures, plugin widgets and global plugin actions.

import * as api from '../api';
import { PluginActionButtons, PluginPanelView } from '../components/plugin-ui';
import { Figure, LoadError, Loading, PageHeader } from '../components/ui';
import { formatMoney } from '../lib/money';
import { useLoader } from '../state/use-loader';

export function DashboardScreen() {
  const data = useLoader(() => api.dashboard(), [], { live: true });
  const d = data.data;
  const reload = () => void data.reload();
  return (
    <div class="page">
      <PageHeader title="Dashboard" subtitle="Where your book stands today.">
        {d && <PluginActionButtons actions={d.actions.filter((a) => a.target === 'global')} record={null} onDone={reload} />}
      </PageHeader>
      <LoadError error={data.error} onRetry={reload} />
      {!d && !data.error && <Loading />}
      {d && (
        <>
          <div class="grid-3">
            <Figure label="Contacts" value={d.contacts} href="#/contacts" testid="dash-contacts" hint={d.contacts === 0 ? 'Import a CSV to get started' : undefined} />
            <Figure label="Renewals in the next 30 days" value={d.renewals_due} href="#/policies" testid="dash-renewals" />
            <Figure
              label="In arrears"
              value={formatMoney(d.arrears_minor)}
              href="#/payments"
              testid="dash-arrears"
              hint={`${d.arrears_policies} ${d.arrears_policies === 1 ? 'policy' : 'policies'}`}
            />
            <Figure label="Tasks due today" value={d.tasks_due_today} href="#/tasks" testid="dash-due-today" />
            <Figure label="Tasks overdue" value={d.tasks_overdue} href="#/tasks" testid="dash-overdue" />
          </div>
          {d.widgets.length > 0 && (
            <section class="stack" aria-labelledby="widgets-h">
              <h2 id="widgets-h">From your plugins</h2>
              <div class="grid-2">
                {d.widgets.map((w) => (
                  <PluginPanelView key={`${w.plugin_id}/${w.item_id}`} panel={w} />
                ))}
              </div>
            </section>
          )}
        </>
      )}
    </div>
  );
}
