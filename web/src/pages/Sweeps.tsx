import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError } from '../api/client';
import { isFinished } from '../api/normalize';
import type { Job, Scalar } from '../api/types';
import { useApi } from '../auth';
import { DataTable, type Column } from '../components/DataTable';
import { BaseFields, baseRequest, emptyBase, formField, loadFormData, validateBase, type BaseValues } from '../components/JobForm';
import { Empty, ErrorBox, Loading, StatusBadge } from '../components/Status';
import { fmtTime } from '../format';
import { useAsync, useInterval } from '../hooks';
import { jobConfig, jobSymbols } from '../jobs';
import { parseAxis } from '../params';

export const OBJECTIVES = ['sharpe', 'sortino', 'total_return', 'cagr', 'calmar', 'profit_factor', 'max_drawdown'];

export default function SweepsPage() {
  const api = useApi();
  const list = useAsync(() => api.allJobs('sweeps'), [api]);
  useInterval(list.reload, 2000, (list.data ?? []).some((j) => !isFinished(j.status)));
  const columns: Column<Job>[] = [
    { key: 'id', label: 'Sweep', numeric: true, render: (j) => <Link to={`/sweeps/${j.id}`}>#{j.id}</Link>, value: (j) => Number(j.id) },
    { key: 'strategy', label: 'Strategy', value: (j) => (jobConfig(j).base as Record<string, unknown>)?.strategy, render: (j) => String((jobConfig(j).base as Record<string, unknown>)?.strategy ?? '—') },
    { key: 'symbols', label: 'Symbols', render: (j) => jobSymbols(j).join(', ') },
    { key: 'objective', label: 'Objective', value: (j) => jobConfig(j).objective, render: (j) => String(jobConfig(j).objective ?? '—') },
    { key: 'status', label: 'Status', render: (j) => <StatusBadge status={j.status} /> },
    { key: 'created_at', label: 'Created', render: (j) => fmtTime(j.created_at) },
  ];
  return (
    <section>
      <h1>Sweeps</h1>
      <SweepBuilder />
      <h2>Past sweeps</h2>
      {list.loading && !list.data && <Loading what="Loading sweeps" />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && list.data.length === 0 && <Empty>No sweeps yet.</Empty>}
      {list.data && list.data.length > 0 && <DataTable rows={list.data} columns={columns} rowKey={(j) => String(j.id)} caption="Sweeps" />}
    </section>
  );
}

/** Grid axes typed by the parameter schema; the number of sets is their product. */
export function buildGrid(specs: { name: string; type: string }[], axes: Record<string, string>) {
  const grid: Record<string, Scalar[]> = {};
  const errors: Record<string, string> = {};
  for (const spec of specs) {
    const { values, error } = parseAxis(spec as never, axes[spec.name] ?? '');
    if (error) errors[spec.name] = error;
    else if (values && values.length) grid[spec.name] = values;
  }
  const sets = Object.values(grid).reduce((n, v) => n * v.length, 1);
  return { grid, errors, sets: Object.keys(grid).length ? sets : 0 };
}

function SweepBuilder() {
  const api = useApi();
  const navigate = useNavigate();
  const form = useAsync(() => loadFormData(api), [api]);
  const [base, setBase] = useState<BaseValues>(emptyBase);
  const [axes, setAxes] = useState<Record<string, string>>({});
  const [constraint, setConstraint] = useState('');
  const [objective, setObjective] = useState('sharpe');
  const [maximize, setMaximize] = useState(true);
  const [top, setTop] = useState('10');
  const [serverError, setServerError] = useState<{ field?: string; text: string }>();
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    const data = form.data;
    if (data) setBase((b) => ({ ...b, strategy: b.strategy || data.strategies[0]?.name || '', symbol: b.symbol || data.symbols[0] || '' }));
  }, [form.data]);
  const specs = useMemo(() => form.data?.strategies.find((s) => s.name === base.strategy)?.params ?? [], [form.data, base.strategy]);
  useEffect(() => {
    setAxes(Object.fromEntries(specs.map((p) => [p.name, ''])));
    setConstraint(specs.some((p) => p.name === 'fast') && specs.some((p) => p.name === 'slow') ? 'fast<slow' : '');
  }, [specs]);
  const { grid, errors: axisErrors, sets } = buildGrid(specs, axes);
  const baseErrors = validateBase(base);
  const topN = Number(top);
  const extra: Record<string, string> = {};
  if (touched && sets === 0) extra.grid = 'give at least one parameter a range, like 5:50:5 or 10,20,30';
  if (!(Number.isInteger(topN) && topN >= 1 && topN <= 1000)) extra.top = 'a whole number from 1 to 1000';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    setServerError(undefined);
    if (Object.keys(baseErrors).length || Object.keys(axisErrors).length || sets === 0 || extra.top) return;
    try {
      const job = await api.submit('sweeps', {
        base: { ...baseRequest(base), params: {} },
        grid,
        constraints: constraint.trim() ? constraint.split(';').map((c) => c.trim()).filter(Boolean) : [],
        objective,
        maximize,
        top: topN,
      });
      navigate(`/sweeps/${job.id}`);
    } catch (exc) {
      setServerError({ field: exc instanceof ApiError ? exc.field : undefined, text: (exc as Error).message });
    }
  };
  if (form.loading) return <Loading what="Loading strategies" />;
  if (form.error) return <ErrorBox error={form.error} onRetry={form.reload} />;
  if (!form.data) return null;
  const fieldErrors = { ...(touched ? baseErrors : {}), ...(serverError?.field ? { [formField(serverError.field) ?? '']: serverError.text } : {}) };
  return (
    <form onSubmit={submit} noValidate aria-label="sweep builder">
      <BaseFields values={base} errors={fieldErrors} strategies={form.data.strategies} symbols={form.data.symbols} onChange={(k, v) => setBase((b) => ({ ...b, [k]: v }))} />
      <fieldset className="params">
        <legend>Grid (start:end:step or a list a,b,c; empty = default)</legend>
        {specs.map((p) => (
          <div className="field" key={p.name}>
            <label htmlFor={`g-${p.name}`}>
              {p.name} {p.minimum !== undefined || p.maximum !== undefined ? `(${p.minimum ?? '…'} – ${p.maximum ?? '…'})` : ''}
            </label>
            <input id={`g-${p.name}`} value={axes[p.name] ?? ''} placeholder={p.default !== undefined ? `default ${p.default}` : ''} onChange={(e) => setAxes((a) => ({ ...a, [p.name]: e.target.value }))} aria-invalid={Boolean(axisErrors[p.name])} />
            {axisErrors[p.name] && (
              <span className="field-error" role="alert">
                {p.name}: {axisErrors[p.name]}
              </span>
            )}
          </div>
        ))}
        <div className="field">
          <label htmlFor="g-constraint">Constraints (; separated)</label>
          <input id="g-constraint" value={constraint} onChange={(e) => setConstraint(e.target.value)} placeholder="fast<slow" />
        </div>
        <div className="field">
          <label htmlFor="g-objective">Objective</label>
          <select id="g-objective" value={objective} onChange={(e) => setObjective(e.target.value)}>
            {OBJECTIVES.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="g-maximize">Maximise</label>
          <input id="g-maximize" type="checkbox" checked={maximize} onChange={(e) => setMaximize(e.target.checked)} />
        </div>
        <div className="field">
          <label htmlFor="g-top">Top N</label>
          <input id="g-top" inputMode="numeric" value={top} onChange={(e) => setTop(e.target.value)} aria-invalid={Boolean(extra.top)} />
          {extra.top && <span className="field-error" role="alert">top: {extra.top}</span>}
        </div>
      </fieldset>
      <p aria-live="polite">
        {sets > 0 ? `${sets.toLocaleString()} parameter sets (before constraints)` : 'No grid yet'}
      </p>
      {extra.grid && <ErrorBox error={extra.grid} />}
      {serverError && <ErrorBox error={serverError.text} />}
      <button type="submit">Run sweep</button>
    </form>
  );
}
