// Plugin contributions: panels/widgets drawn from data (never markup) and
// action buttons. Running an action shows its notifications as toasts.

import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import * as api from '../api';
import type { PluginActionDto, PluginPanel } from '../bindings';
import { toApiError } from '../lib/api-error';
import { panelModel, type PanelModel } from '../lib/panel-data';
import { testId } from '../lib/testid';
import { pushNotices, pushToast } from '../state/toasts';

function PanelBody(props: { model: PanelModel }) {
  const m = props.model;
  switch (m.kind) {
    case 'stat':
      return (
        <div class="figure">
          <span class="figure-value">{m.value}</span>
          {m.label && <span class="figure-label">{m.label}</span>}
          {m.hint && <span class="figure-hint">{m.hint}</span>}
        </div>
      );
    case 'list':
      return m.items.length === 0 ? (
        <p class="muted">{m.empty ?? 'Nothing to show'}</p>
      ) : (
        <ul class="panel-list">
          {m.items.map((it, i) => (
            <li key={i}>
              {it.title}
              {it.subtitle && <div class="muted small">{it.subtitle}</div>}
            </li>
          ))}
        </ul>
      );
    case 'table':
      return m.rows.length === 0 ? (
        <p class="muted">{m.empty ?? 'Nothing to show'}</p>
      ) : (
        <div class="table-wrap">
          <table class="table">
            {m.columns.length > 0 && (
              <thead>
                <tr>
                  {m.columns.map((c, i) => (
                    <th key={i}>{c}</th>
                  ))}
                </tr>
              </thead>
            )}
            <tbody>
              {m.rows.map((r, i) => (
                <tr key={i}>
                  {r.map((c, j) => (
                    <td key={j}>{c}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {m.more > 0 && <p class="muted small">…and {m.more} more</p>}
        </div>
      );
    case 'text':
      return <p class="timeline-body">{m.text}</p>;
    case 'chart': {
      const max = Math.max(...m.bars.map((b) => Math.abs(b.value)), 1);
      return (
        <div class="bar-chart">
          {m.bars.map((b, i) => (
            <div class="bar" key={i}>
              <span class="small">{b.label}</span>
              <div class="bar-track">
                <div class="bar-fill" style={{ width: `${(Math.abs(b.value) / max) * 100}%` }} />
              </div>
              <span class="num small">{b.value}</span>
            </div>
          ))}
        </div>
      );
    }
    case 'pairs':
      return (
        <dl class="details panel-pairs">
          {m.pairs.map(([k, v], i) => (
            <Fragment key={i}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </Fragment>
          ))}
        </dl>
      );
    case 'error':
      return (
        <div class="alert alert-warn" role="alert">
          {m.message}
        </div>
      );
    case 'empty':
      return <p class="muted">Nothing to show</p>;
  }
}

export function PluginPanelView(props: { panel: PluginPanel }) {
  const p = props.panel;
  const model = useMemo(() => panelModel(p), [p]);
  return (
    <section class="card card-tight" data-testid={testId('panel', p.plugin_id, p.item_id)} aria-label={p.title}>
      <div class="card-head">
        <h3>{p.title}</h3>
      </div>
      <PanelBody model={model} />
    </section>
  );
}

/** Buttons for plugin actions; `record` is the contact or policy id, or null. */
export function PluginActionButtons(props: { actions: readonly PluginActionDto[]; record: string | null; onDone?: () => void }) {
  const [running, setRunning] = useState<string | null>(null);
  if (props.actions.length === 0) return null;
  const run = async (a: PluginActionDto) => {
    const key = `${a.plugin_id}/${a.action_id}`;
    setRunning(key);
    try {
      const result = await api.pluginRunAction(a.plugin_id, a.action_id, props.record);
      if (result.notifications.length > 0) pushNotices(result.notifications);
      else pushToast('success', `${a.label}: done${result.writes > 0 ? ` (${result.writes} changed)` : ''}`, a.plugin_id);
    } catch (e) {
      pushToast('error', `${a.label}: ${toApiError(e).message}`, a.plugin_id);
    } finally {
      setRunning(null);
      props.onDone?.();
    }
  };
  return (
    <div class="row">
      {props.actions.map((a) => {
        const key = `${a.plugin_id}/${a.action_id}`;
        return (
          <button
            key={key}
            type="button"
            class="btn btn-sm"
            data-testid={testId('action', a.plugin_id, a.action_id)}
            title={`From the plugin ${a.plugin_name}`}
            disabled={running !== null}
            onClick={() => void run(a)}
          >
            {running === key ? 'Running…' : a.label}
          </button>
        );
      })}
    </div>
  );
}
