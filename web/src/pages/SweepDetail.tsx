import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { toEpochSeconds } from '../api/normalize';
import type { Job, SweepRow } from '../api/types';
import { useApi } from '../auth';
import { LineChart } from '../components/charts';
import { DataTable, sortRows, type Column } from '../components/DataTable';
import { buildHeatmap, Heatmap } from '../components/Heatmap';
import { ErrorBox, Loading, ProgressBar } from '../components/Status';
import { fmtMetric } from '../format';
import { useAsync } from '../hooks';
import { jobConfig, jobSymbols, useJob } from '../jobs';

export default function SweepDetailPage() {
  const { id = '' } = useParams();
  const { job, error } = useJob('sweeps', id);
  if (error && !job) return <ErrorBox error={error} />;
  if (!job) return <Loading what={`Loading sweep #${id}`} />;
  const cfg = jobConfig(job);
  return (
    <section>
      <div className="title-row">
        <h1>
          Sweep #{job.id}: {String((cfg.base as Record<string, unknown>)?.strategy ?? '')} on {jobSymbols(job).join(', ')}
        </h1>
        <Link to="/sweeps">All sweeps</Link>
      </div>
      <ProgressBar value={job.progress} status={job.status} />
      {job.status === 'failed' && <ErrorBox error={`The sweep failed: ${job.error ?? 'no reason given'}`} />}
      {job.status === 'succeeded' && <SweepResults job={job} />}
    </section>
  );
}

function SweepResults({ job }: { job: Job }) {
  const api = useApi();
  const id = String(job.id);
  const cfg = jobConfig(job);
  const objective = String(cfg.objective ?? 'sharpe');
  const maximize = cfg.maximize !== false;
  const params = Object.keys((cfg.grid as Record<string, unknown>) ?? {});
  const rows = useAsync(() => api.table<SweepRow>('sweeps', id, 'results'), [api, id]);
  const [x, setX] = useState(params[0]);
  const [y, setY] = useState(params[1] ?? params[0]);
  const heat = useMemo(() => (rows.data && x && y ? buildHeatmap(rows.data, x, y, objective, maximize) : undefined), [rows.data, x, y, objective, maximize]);
  const top = useMemo(() => sortRows(rows.data ?? [], (r) => r[objective], maximize ? 'desc' : 'asc').slice(0, Number(cfg.top ?? 10)), [rows.data, objective, maximize, cfg.top]);
  const columns: Column<SweepRow>[] = [
    ...params.map((p) => ({ key: p, label: p, numeric: true })),
    ...['sharpe', 'total_return', 'max_drawdown', 'trades']
      .filter((m) => m !== objective && rows.data?.[0] && m in rows.data[0])
      .concat([objective])
      .map((m) => ({ key: m, label: m, numeric: true, render: (r: SweepRow) => fmtMetric(m, r[m]) })),
  ];
  return (
    <>
      {rows.loading && <Loading what="Loading results" />}
      {rows.error && <ErrorBox error={rows.error} onRetry={rows.reload} />}
      {rows.data && (
        <>
          <h2>Heatmap of {objective}</h2>
          {params.length >= 1 && (
            <div className="toolbar">
              <label>
                Horizontal{' '}
                <select value={x} onChange={(e) => setX(e.target.value)}>
                  {params.map((p) => (
                    <option key={p}>{p}</option>
                  ))}
                </select>
              </label>
              <label>
                Vertical{' '}
                <select value={y} onChange={(e) => setY(e.target.value)}>
                  {params.map((p) => (
                    <option key={p}>{p}</option>
                  ))}
                </select>
              </label>
            </div>
          )}
          {heat && <Heatmap data={heat} x={x} y={y} objective={objective} />}
          <h2>Top {top.length}</h2>
          <DataTable rows={top} columns={columns} caption={`Top ${top.length} of ${rows.data.length} sets by ${objective}`} />
        </>
      )}
      <WalkForward sweep={job} />
    </>
  );
}

function WalkForward({ sweep }: { sweep: Job }) {
  const api = useApi();
  const [train, setTrain] = useState('7D');
  const [test, setTest] = useState('2D');
  const [anchored, setAnchored] = useState(false);
  const [wfId, setWfId] = useState<string>();
  const [error, setError] = useState<string>();
  const start = async () => {
    setError(undefined);
    try {
      const { scheduler: _s, ...config } = jobConfig(sweep);
      const base = { ...(config.base as Record<string, unknown>) };
      delete base.lake;
      const job = await api.submit('walkforwards', { sweep: { ...config, base }, train, test, anchored });
      setWfId(String(job.id));
    } catch (exc) {
      setError((exc as Error).message);
    }
  };
  return (
    <>
      <h2>Walk-forward</h2>
      <div className="toolbar">
        <label>
          Train <input value={train} onChange={(e) => setTrain(e.target.value)} size={5} />
        </label>
        <label>
          Test <input value={test} onChange={(e) => setTest(e.target.value)} size={5} />
        </label>
        <label>
          <input type="checkbox" checked={anchored} onChange={(e) => setAnchored(e.target.checked)} /> anchored
        </label>
        <button type="button" onClick={start}>
          Run walk-forward with this grid
        </button>
      </div>
      {error && <ErrorBox error={error} />}
      {wfId && <WalkForwardResult id={wfId} />}
    </>
  );
}

/** In-sample vs out-of-sample objective per window (at each test window's start). */
export function windowLines(windows: Record<string, unknown>[]) {
  const at = (w: Record<string, unknown>) => toEpochSeconds(w.test_start ?? w.train_end);
  const pts = (k: string) =>
    windows
      .filter((w) => w[k] !== null && w[k] !== undefined && w[k] !== '')
      .map((w) => ({ time: at(w), value: Number(w[k]) }))
      .filter((p) => Number.isFinite(p.value));
  return [
    { name: 'in-sample', color: '#2563eb', points: pts('is_objective') },
    { name: 'out-of-sample', color: '#ea580c', points: pts('oos_objective') },
  ];
}

function WalkForwardResult({ id }: { id: string }) {
  const { job } = useJob('walkforwards', id);
  if (!job) return <Loading what="Starting walk-forward" />;
  const result = (job.result ?? {}) as Record<string, unknown>;
  const windows = Array.isArray(result.windows) ? (result.windows as Record<string, unknown>[]) : [];
  return (
    <div className="panel">
      <ProgressBar value={job.progress} status={job.status} />
      {job.status === 'failed' && <ErrorBox error={`The walk-forward failed: ${job.error ?? ''}`} />}
      {job.status === 'succeeded' && (
        <>
          <p>
            {windows.length} windows · in-sample mean {fmtMetric('x', result.is_mean)} · out-of-sample mean {fmtMetric('x', result.oos_mean)} · efficiency {fmtMetric('x', result.efficiency)}
          </p>
          <LineChart lines={windowLines(windows)} label="walk-forward in-sample vs out-of-sample objective" />
          <WalkForwardEquity id={id} />
        </>
      )}
    </div>
  );
}

function WalkForwardEquity({ id }: { id: string }) {
  const api = useApi();
  const eq = useAsync(() => api.equity('walkforwards', id), [api, id]);
  if (eq.error) return <ErrorBox error={eq.error} />;
  if (!eq.data) return <Loading what="Loading out-of-sample equity" />;
  return <LineChart lines={[{ name: 'stitched out-of-sample equity', color: '#16a34a', points: eq.data.map((p) => ({ time: p.time, value: p.equity })) }]} label="stitched out-of-sample equity" />;
}
