import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import type { Job } from '../api/types';
import { useApi } from '../auth';
import { DataTable, type Column } from '../components/DataTable';
import { Empty, ErrorBox, Loading, StatusBadge } from '../components/Status';
import { fmtMetric, fmtTime } from '../format';
import { useAsync, useInterval } from '../hooks';
import { isFinished } from '../api/normalize';
import { jobConfig, jobSymbols } from '../jobs';

export default function BacktestsPage() {
  const api = useApi();
  const navigate = useNavigate();
  const list = useAsync(() => api.allJobs('backtests'), [api]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const running = (list.data ?? []).some((j) => !isFinished(j.status));
  useInterval(list.reload, 2000, running);
  const toggle = (id: string) =>
    setPicked((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const columns: Column<Job>[] = [
    {
      key: 'pick',
      label: 'Compare',
      render: (j) => (
        <input
          type="checkbox"
          aria-label={`compare backtest ${j.id}`}
          checked={picked.has(String(j.id))}
          disabled={j.status !== 'succeeded'}
          onChange={() => toggle(String(j.id))}
        />
      ),
      value: (j) => picked.has(String(j.id)),
    },
    { key: 'id', label: 'Run', numeric: true, render: (j) => <Link to={`/backtests/${j.id}`}>#{j.id}</Link>, value: (j) => Number(j.id) },
    { key: 'strategy', label: 'Strategy', value: (j) => jobConfig(j).strategy, render: (j) => String(jobConfig(j).strategy ?? '—') },
    { key: 'symbols', label: 'Symbols', value: (j) => jobSymbols(j).join(' '), render: (j) => jobSymbols(j).join(', ') },
    { key: 'timeframe', label: 'Timeframe', value: (j) => jobConfig(j).timeframe, render: (j) => String(jobConfig(j).timeframe ?? '—') },
    { key: 'status', label: 'Status', render: (j) => <StatusBadge status={j.status} /> },
    { key: 'sharpe', label: 'Sharpe', numeric: true, value: (j) => j.metrics?.sharpe ?? null, render: (j) => fmtMetric('sharpe', j.metrics?.sharpe) },
    { key: 'total_return', label: 'Return', numeric: true, value: (j) => j.metrics?.total_return ?? null, render: (j) => fmtMetric('total_return', j.metrics?.total_return) },
    { key: 'created_at', label: 'Created', render: (j) => fmtTime(j.created_at) },
  ];
  return (
    <section>
      <div className="title-row">
        <h1>Backtests</h1>
        <Link className="button" to="/backtests/new">
          New backtest
        </Link>
      </div>
      {list.loading && !list.data && <Loading what="Loading runs" />}
      {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data && list.data.length === 0 && <Empty>No backtests yet. Start one with “New backtest”.</Empty>}
      {list.data && list.data.length > 0 && (
        <>
          <div className="toolbar">
            <button
              type="button"
              disabled={picked.size < 2}
              onClick={() => navigate(`/backtests/compare?ids=${[...picked].join(',')}`)}
            >
              Compare {picked.size > 0 ? picked.size : ''} selected
            </button>
            <span className="muted">Pick two or more finished runs to compare them side by side.</span>
          </div>
          <DataTable rows={list.data.map((j) => ({ ...j, id: String(j.id) }))} columns={columns} rowKey={(j) => j.id} caption="Past runs" />
        </>
      )}
    </section>
  );
}
