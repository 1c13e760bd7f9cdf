// The Run form: one labelled field per parameter of the flow's latest version, checked before
// createFlowRun is sent; the server's INVALID_PARAMETERS answer is shown next to it.
import { useState, type FormEvent } from 'react';
import { ApiError, gql } from '../api';
import { fieldsOf, hintOf, initialText, readForm, type ParamField } from '../param-schema';
import { ErrorBox } from './common';

export function RunForm({ flowId, versionId, schema, onCreated, onClose }: { flowId: string; versionId: string; schema: unknown; onCreated: (runId: string) => void; onClose: () => void }) {
  const fields = fieldsOf(schema);
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, initialText(f)])));
  const [labels, setLabels] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [sending, setSending] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const reading = readForm(fields, texts);
    if (!reading.ok) {
      setErrors(reading.errors);
      const first = fields.find((f) => reading.errors[f.name]);
      if (first) document.getElementById(`param-${first.name}`)?.focus();
      return;
    }
    setErrors({});
    setError(null);
    setSending(true);
    try {
      const labelList = labels.split(',').map((l) => l.trim()).filter(Boolean);
      const input = { flowId, flowVersionId: versionId, parameters: reading.parameters, ...(labelList.length ? { labels: labelList } : {}) };
      const { createFlowRun } = await gql<{ createFlowRun: { id: string } }>('mutation Create($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }', { input });
      onCreated(createFlowRun.id);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="run-form" onSubmit={(e) => void submit(e)} aria-labelledby="run-form-heading" noValidate>
      <h2 id="run-form-heading">New run</h2>
      {fields.length === 0 ? <p className="muted">This flow takes no parameters.</p> : null}
      {fields.map((field) => (
        <Field key={field.name} field={field} text={texts[field.name] ?? ''} error={errors[field.name]} onChange={(value) => setTexts((t) => ({ ...t, [field.name]: value }))} />
      ))}
      <div className="field">
        <label htmlFor="run-labels">Labels</label>
        <input id="run-labels" value={labels} onChange={(e) => setLabels(e.target.value)} aria-describedby="run-labels-hint" />
        <p id="run-labels-hint" className="hint">
          comma-separated; empty: the version's default labels
        </p>
      </div>
      <ErrorBox error={error} title="The run was not created" />
      {error?.code === 'INVALID_PARAMETERS' && Array.isArray(error.details) ? (
        <ul className="error-list">
          {(error.details as { path?: string; message?: string }[]).map((d, i) => (
            <li key={i}>
              {d.path ?? ''} {d.message ?? JSON.stringify(d)}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={sending}>
          Start run
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}

function Field({ field, text, error, onChange }: { field: ParamField; text: string; error: string | undefined; onChange: (value: string) => void }) {
  const id = `param-${field.name}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const described = [hintId, error ? errorId : ''].filter(Boolean).join(' ');
  const common = { id, 'aria-describedby': described, 'aria-invalid': error ? true : undefined, 'aria-required': field.required || undefined } as const;
  let input;
  switch (field.kind) {
    case 'boolean':
      input = (
        <select {...common} value={text === 'true' ? 'true' : 'false'} onChange={(e) => onChange(e.target.value)}>
          <option value="false">false</option>
          <option value="true">true</option>
        </select>
      );
      break;
    case 'enum':
      input = (
        <select {...common} value={text} onChange={(e) => onChange(e.target.value)}>
          {field.required ? null : <option value="">(default)</option>}
          {field.options?.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
      break;
    case 'string-list':
    case 'json':
      input = <textarea {...common} rows={3} value={text} onChange={(e) => onChange(e.target.value)} />;
      break;
    default:
      input = <input {...common} type="text" inputMode={field.kind === 'string' ? 'text' : 'decimal'} value={text} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className="field">
      <label htmlFor={id}>
        {field.name}
        {field.required ? ' *' : ''}
      </label>
      {input}
      <p id={hintId} className="hint">
        {field.description ? `${field.description} — ` : ''}
        {hintOf(field)}
      </p>
      {error ? (
        <p id={errorId} className="field-error">
          {field.name}: {error}
        </p>
      ) : null}
    </div>
  );
}
