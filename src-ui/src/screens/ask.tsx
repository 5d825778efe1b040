// Ask the documents: the answer streams in as it is written, citing its
// sources as [1], [2]…; each citation opens the document at its page with
// the passage marked. Without a language model (or offline) the answer is
// the best passages themselves. Only documents this person may see are
// ever used.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { DocAnswerDto, DocHitDto } from '../bindings';
import { ErrorBox, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { answerParts, hitHref } from '../lib/documents';

export function AskScreen() {
  const [question, setQuestion] = useState('');
  const [streamed, setStreamed] = useState('');
  const [answer, setAnswer] = useState<DocAnswerDto | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [asking, setAsking] = useState(false);

  useEffect(() => {
    const off = api.onDocsAnswer((t) => setStreamed((s) => s + t));
    return () => void off.then((f) => f());
  }, []);

  const ask = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setAnswer(null);
    setStreamed('');
    setAsking(true);
    try {
      setAnswer(await api.docsAsk(question));
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setAsking(false);
    }
  };

  const text = answer ? answer.answer : streamed;
  return (
    <div class="stack">
      <PageHeader title="Ask the documents" subtitle="Answers come from your agency's documents, with the page they come from." />
      <form class="card form" onSubmit={ask} noValidate>
        <ErrorBox error={error} />
        <textarea
          class="input"
          rows={2}
          aria-label="Your question"
          placeholder="How soon must a complaint be acknowledged?"
          data-testid="ask-question"
          value={question}
          onInput={(e) => setQuestion(inputValue(e))}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              (e.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
            }
          }}
        />
        <div class="form-actions">
          {asking && (
            <button type="button" class="btn btn-danger" data-testid="ask-stop" onClick={() => void api.docsAskCancel()}>
              Stop
            </button>
          )}
          <button type="submit" class="btn btn-primary" data-testid="ask-go" disabled={asking || question.trim() === ''}>
            {asking ? 'Answering…' : 'Ask'}
          </button>
        </div>
      </form>
      {(text !== '' || asking) && (
        <section class="card answer" aria-live="polite" aria-busy={asking}>
          <h2>Answer</h2>
          <div class="answer-text" data-testid="ask-answer">
            {answer ? <Cited text={answer.answer} sources={answer.sources} /> : streamed}
          </div>
          {answer?.note && (
            <p class="muted" data-testid="ask-note">
              {answer.note.charAt(0).toUpperCase() + answer.note.slice(1)}.
            </p>
          )}
          {answer?.model && <p class="muted small">Written by {answer.model} from the sources below.</p>}
        </section>
      )}
      {answer && answer.sources.length > 0 && (
        <section class="card">
          <h2>Sources</h2>
          <ol class="sources" data-testid="ask-sources">
            {answer.sources.map((s, i) => (
              <li key={s.passage_id} id={`source-${i + 1}`}>
                <a href={hitHref(s)} data-testid={`ask-source-${i + 1}`}>
                  {s.citation}
                </a>
                {s.heading && <div class="muted small">{s.heading}</div>}
                <Snippet hit={s} />
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}

/** The answer with each [n] a link to its source's page. */
function Cited(props: { text: string; sources: DocHitDto[] }) {
  return (
    <>
      {answerParts(props.text, props.sources.length).map((p, i) => {
        if ('text' in p) return <span key={i}>{p.text}</span>;
        const s = props.sources[p.cite - 1];
        return s ? (
          <a key={i} class="cite" href={hitHref(s)} title={s.citation} data-testid={`ask-cite-${p.cite}`}>
            [{p.cite}]
          </a>
        ) : null;
      })}
    </>
  );
}

/** A passage with the words that matched the question marked. */
function Snippet(props: { hit: DocHitDto }) {
  const chars = Array.from(props.hit.text);
  const out: preact.JSX.Element[] = [];
  let at = 0;
  for (const [s, e] of props.hit.highlights) {
    if (s < at || e <= s) continue;
    out.push(<span key={`t${at}`}>{chars.slice(at, s).join('')}</span>);
    out.push(<mark key={`m${s}`}>{chars.slice(s, e).join('')}</mark>);
    at = e;
  }
  out.push(<span key={`t${at}`}>{chars.slice(at).join('')}</span>);
  return <p class="snippet">{out}</p>;
}
