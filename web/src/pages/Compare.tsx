import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import type { EquityPoint, Job } from '../api/types';
import { useApi } from '../auth';
import { LineChart, PALETTE } from '../components/charts';
import { orderedMetrics } from '../components/MetricCards';
import { ErrorBox, Loading } from '../components/Status';
import { fmtMetric } from '../format';
import { useAsync } from '../hooks';
import { jobConfig, jobSymbols } from '../jobs';

interface Run {
  job: Job;
  equity: EquityPoint[];
}

export default function ComparePage() {
  const api = useApi();
  const [params] = useSearchParams();
  const ids = (params.get('ids') ?? '').split(',').filter(Boolean);
  const runs = useAsync(
    () => Promise.all(ids.map(async (id): Promise<Run> => ({ job: await api.job('backtests', id), equity: await api.equity('backtests', id) }))),
    [api, ids.join(',')],
  );
  const names = useMemo(() => {
    const seen = new Set<string>();
    for (const r of runs.data ?? []) for (const [k] of orderedMetrics(r.job.metrics ?? {})) seen.add(k);
    return [...seen];
  }, [runs.data]);
  const lines = useMemo(
    () =>
      (runs.data ?? []).map((r, i) => {
        const first = r.equity[0]?.equity || 1;
        return { name: `#${r.job.id}`, color: PALETTE[i % PALETTE.length], points: r.equity.map((p) => ({ time: p.time, value: p.equity / first - 1 })) };
      }),
    [runs.data],
  );
  const data = runs.data;
  if (ids.length < 2) return <ErrorBox error="Pick two or more runs on the Backtests page to compare them." />;
  return (
    <section>
      <div className="title-row">
        <h1>Compare {ids.length} backtests</h1>
        <Link to="/backtests">All runs</Link>
      </div>
      {runs.loading && <Loading what="Loading runs" />}
      {runs.error && <ErrorBox error={runs.error} onRetry={runs.reload} />}
      {data && (
        <>
          <div className="table-wrap">
            <table aria-label="metrics side by side">
              <thead>
                <tr>
                  <th>Metric</th>
                  {data.map((r) => (
                    <th key={r.job.id} className="num">
                      <Link to={`/backtests/${r.job.id}`}>#{r.job.id}</Link> {String(jobConfig(r.job).strategy ?? '')} {jobSymbols(r.job).join(',')}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <tr>
                  <th scope="row">params</th>
                  {data.map((r) => (
                    <td key={r.job.id} className="num">
                      {JSON.stringify(jobConfig(r.job).params ?? {})}
                    </td>
                  ))}
                </tr>
                {names.map((n) => (
                  <tr key={n}>
                    <th scope="row">{n.replace(/_/g, ' ')}</th>
                    {data.map((r) => (
                      <td key={r.job.id} className="num">
                        {fmtMetric(n, r.job.metrics?.[n])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Equity (return since start)</h2>
          <LineChart lines={lines} label="equity of the compared runs" percent />
        </>
      )}
    </section>
  );
}
