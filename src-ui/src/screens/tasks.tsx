// Tasks: mine, due today, overdue, all open; add and tick off.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { TaskView } from '../bindings';
import { EmptyState, LoadError, Loading, PageHeader } from '../components/ui';
import { useLoader } from '../state/use-loader';
import { TaskForm, TaskLine } from './contact';

const TABS: { view: TaskView; label: string; empty: string }[] = [
  { view: 'mine', label: 'Mine', empty: 'Nothing on your list' },
  { view: 'due_today', label: 'Due today', empty: 'Nothing due today' },
  { view: 'overdue', label: 'Overdue', empty: 'Nothing overdue — well done' },
  { view: 'open', label: 'All open', empty: 'No open tasks' },
];

export function TasksScreen() {
  const [view, setView] = useState<TaskView>('mine');
  const [adding, setAdding] = useState(false);
  const data = useLoader(() => api.tasks(view), [view], { live: true });
  const reload = () => void data.reload();
  const tab = TABS.find((t) => t.view === view);
  return (
    <div class="page">
      <PageHeader title="Tasks">
        <button type="button" class="btn btn-primary" data-testid="new-task" onClick={() => setAdding(!adding)}>
          {adding ? 'Close' : 'Add task'}
        </button>
      </PageHeader>
      {adding && (
        <section class="card">
          <TaskForm
            contactId=""
            onSaved={() => {
              setAdding(false);
              reload();
            }}
          />
        </section>
      )}
      <div class="tabs" role="tablist" aria-label="Which tasks">
        {TABS.map((t) => (
          <button key={t.view} type="button" role="tab" class="tab" aria-selected={view === t.view} data-testid={`tasks-${t.view}`} onClick={() => setView(t.view)}>
            {t.label}
          </button>
        ))}
      </div>
      <LoadError error={data.error} onRetry={reload} />
      {!data.data && !data.error && <Loading />}
      {data.data && data.data.length === 0 && <EmptyState title={tab?.empty ?? 'No tasks'} testid="tasks-empty" />}
      {data.data && data.data.length > 0 && (
        <section class="card card-tight">
          <ul class="task-list">
            {data.data.map((t) => (
              <TaskLine key={t.id} task={t} onChanged={reload} showContact />
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
