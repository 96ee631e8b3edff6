import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { toEpochSeconds } from '../api/normalize';
import type { Job, Trade } from '../api/types';
import { useApi } from '../auth';
import { CandleChart, LineChart, type Marker } from '../components/charts';
import { DataTable, type Column } from '../components/DataTable';
import { MetricCards } from '../components/MetricCards';
import { Empty, ErrorBox, Loading, ProgressBar } from '../components/Status';
import { fmtNumber, fmtPct, fmtPrice, fmtTime } from '../format';
import { useAsync } from '../hooks';
import { jobConfig, jobSymbols, useJob } from '../jobs';

export default function BacktestDetailPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const { job, error } = useJob('backtests', id);
  const [cancelError, setCancelError] = useState<string>();
  if (error && !job) return <ErrorBox error={error} />;
  if (!job) return <Loading what={`Loading backtest #${id}`} />;
  const cfg = jobConfig(job);
  const active = job.status === 'queued' || job.status === 'running';
  const cancel = () => api.cancel('backtests', id).catch((e: Error) => setCancelError(e.message));
  return (
    <section>
      <div className="title-row">
        <h1>
          Backtest #{job.id}: {String(cfg.strategy ?? '')} on {jobSymbols(job).join(', ')}
        </h1>
        <Link to="/backtests">All runs</Link>
      </div>
      <p className="muted">
        {String(cfg.timeframe ?? '')} · params {JSON.stringify(cfg.params ?? {})}
      </p>
      <ProgressBar value={job.progress} status={job.status} />
      {active && (
        <button type="button" onClick={cancel}>
          Cancel
        </button>
      )}
      {cancelError && <ErrorBox error={cancelError} />}
      {job.status === 'failed' && <ErrorBox error={`The run failed: ${job.error ?? 'no reason given'}`} />}
      {job.status === 'succeeded' && <Results job={job} />}
    </section>
  );
}

const TRADE_COLUMNS: Column<Trade>[] = [
  { key: 'symbol', label: 'Symbol' },
  { key: 'direction', label: 'Side', render: (t) => (Number(t.direction) > 0 ? 'long' : 'short') },
  { key: 'size', label: 'Size', numeric: true, render: (t) => fmtNumber(t.size) },
  { key: 'entry_time', label: 'Entry', render: (t) => fmtTime(t.entry_time) },
  { key: 'entry_price', label: 'Entry price', numeric: true, render: (t) => fmtPrice(t.entry_price) },
  { key: 'exit_time', label: 'Exit', render: (t) => fmtTime(t.exit_time) },
  { key: 'exit_price', label: 'Exit price', numeric: true, render: (t) => fmtPrice(t.exit_price) },
  { key: 'pnl', label: 'P&L', numeric: true, render: (t) => <span className={Number(t.pnl) >= 0 ? 'pos' : 'neg'}>{fmtNumber(t.pnl, 2)}</span> },
  { key: 'return_pct', label: 'Return', numeric: true, render: (t) => fmtPct(t.return_pct) },
  { key: 'exit_reason', label: 'Exit reason' },
];

/** Entry and exit arrows: a long enters with a buy and exits with a sell, a short the reverse. */
export function tradeMarkers(trades: Trade[]): Marker[] {
  return trades.flatMap((t) => {
    const long = Number(t.direction) > 0;
    const marks: Marker[] = [];
    if (t.entry_time) marks.push({ time: toEpochSeconds(t.entry_time), side: long ? 'buy' : 'sell', text: long ? 'L' : 'S' });
    if (t.exit_time) marks.push({ time: toEpochSeconds(t.exit_time), side: long ? 'sell' : 'buy' });
    return marks;
  });
}

function Results({ job }: { job: Job }) {
  const api = useApi();
  const id = String(job.id);
  const trades = useAsync(() => api.trades(id), [api, id]);
  const equity = useAsync(() => api.equity('backtests', id), [api, id]);
  const [reportError, setReportError] = useState<string>();
  const openReport = async () => {
    try {
      window.open(await api.reportBlobUrl('backtests', id), '_blank', 'noopener');
    } catch (e) {
      setReportError((e as Error).message);
    }
  };
  const lines = useMemo(() => {
    const pts = equity.data ?? [];
    return {
      equity: [{ name: 'equity', color: '#2563eb', points: pts.map((p) => ({ time: p.time, value: p.equity })) }],
      drawdown: [{ name: 'drawdown', color: '#dc2626', points: pts.map((p) => ({ time: p.time, value: p.drawdown })) }],
    };
  }, [equity.data]);
  return (
    <>
      <h2>Metrics</h2>
      <MetricCards metrics={job.metrics ?? {}} />
      <p>
        <button type="button" onClick={openReport} disabled={!(job.artifacts as string[] | undefined)?.includes('report')}>
          Open HTML report
        </button>
        {reportError && <ErrorBox error={reportError} />}
      </p>
      <h2>Equity and drawdown</h2>
      {equity.loading && <Loading what="Loading equity" />}
      {equity.error && <ErrorBox error={equity.error} onRetry={equity.reload} />}
      {equity.data && (
        <div className="two-col">
          <LineChart lines={lines.equity} label="equity curve" />
          <LineChart lines={lines.drawdown} label="drawdown (%)" percent />
        </div>
      )}
      <h2>Price and trades</h2>
      <PriceWithTrades job={job} trades={trades.data ?? []} />
      <h2>Trades</h2>
      {trades.loading && <Loading what="Loading trades" />}
      {trades.error && <ErrorBox error={trades.error} onRetry={trades.reload} />}
      {trades.data && <DataTable rows={trades.data} columns={TRADE_COLUMNS} caption={`${trades.data.length} trades`} />}
    </>
  );
}

function PriceWithTrades({ job, trades }: { job: Job; trades: Trade[] }) {
  const api = useApi();
  const cfg = jobConfig(job);
  const symbol = jobSymbols(job)[0];
  const tf = typeof cfg.timeframe === 'string' && cfg.timeframe !== 'ticks' ? cfg.timeframe : '1min';
  const start = typeof cfg.start === 'string' ? cfg.start : undefined;
  const end = typeof cfg.end === 'string' ? cfg.end : undefined;
  const bars = useAsync(() => api.bars(symbol, tf, start, end, 10000), [api, symbol, tf, start, end]);
  const markers = useMemo(() => tradeMarkers(trades.filter((t) => !t.symbol || t.symbol === symbol)), [trades, symbol]);
  if (bars.loading && !bars.data) return <Loading what="Loading prices" />;
  if (bars.error) return <ErrorBox error={`Prices unavailable: ${bars.error.message}`} />;
  if (!bars.data?.length) return <Empty>No {tf} bars for {symbol} to draw the trades on.</Empty>;
  return <CandleChart bars={bars.data} markers={markers} label={`${symbol} ${tf} price with trade markers`} height={340} />;
}
