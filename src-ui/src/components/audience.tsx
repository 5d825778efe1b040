// Who may see a document: everyone, or any of the roles and teams named.
// The server applies the same terms before a document reaches a device.

import { useState } from 'preact/hooks';
import { audienceLabel, teamTerm, toggleAudience } from '../lib/documents';
import { testId } from '../lib/testid';
import { inputValue } from './ui';

const ROLES = ['role:agent', 'role:admin'];

export function AudienceEditor(props: { value: string[]; onChange: (v: string[]) => void; testid: string }) {
  const [team, setTeam] = useState('');
  const addTeam = () => {
    const t = teamTerm(team);
    if (t !== '' && !props.value.includes(t)) props.onChange(toggleAudience(props.value, t));
    setTeam('');
  };
  const teams = props.value.filter((a) => a.startsWith('team:'));
  return (
    <fieldset class="audience" data-testid={props.testid}>
      <legend class="field-label">Who can see it</legend>
      <label class="check">
        <input
          type="checkbox"
          data-testid={`${props.testid}-everyone`}
          checked={props.value.includes('everyone')}
          onChange={() => props.onChange(toggleAudience(props.value, 'everyone'))}
        />
        Everyone in the agency
      </label>
      {ROLES.map((r) => (
        <label class="check" key={r}>
          <input
            type="checkbox"
            data-testid={testId(props.testid, r)}
            checked={props.value.includes(r)}
            onChange={() => props.onChange(toggleAudience(props.value, r))}
          />
          {audienceLabel(r)}s
        </label>
      ))}
      <div class="chips">
        {teams.map((t) => (
          <span class="chip" key={t}>
            {audienceLabel(t)}
            <button
              type="button"
              class="chip-remove"
              aria-label={`Remove ${audienceLabel(t)}`}
              onClick={() => props.onChange(toggleAudience(props.value, t))}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      <div class="row">
        <input
          class="input"
          placeholder="Team name, e.g. north"
          aria-label="Team name"
          data-testid={`${props.testid}-team`}
          value={team}
          onInput={(e) => setTeam(inputValue(e))}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              addTeam();
            }
          }}
        />
        <button type="button" class="btn" data-testid={`${props.testid}-add-team`} onClick={addTeam}>
          Add team
        </button>
      </div>
      {props.value.length === 0 && <span class="field-error">Choose who can see it.</span>}
    </fieldset>
  );
}
