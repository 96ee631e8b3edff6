import { useMemo, useState } from 'react';
import { toCoverage, toEpochSeconds, type Coverage } from '../api/normalize';
import { useApi } from '../auth';
import { useBarWindow, type Limits } from '../bars';
import { CandleChart } from '../components/charts';
import { DataTable, type Column } from '../components/DataTable';
import { Empty, ErrorBox, Loading } from '../components/Status';
import { fmtNumber, fmtTime, TIMEFRAMES } from '../format';
import { useAsync } from '../hooks';

const COLUMNS: Column<Coverage>[] = [
  { key: 'dataset', label: 'Dataset' },
  { key: 'symbol', label: 'Symbol' },
  { key: 'timeframe', label: 'Timeframe', render: (r) => r.timeframe ?? '—' },
  { key: 'start', label: 'From', render: (r) => fmtTime(r.start) },
  { key: 'end', label: 'To', render: (r) => fmtTime(r.end) },
  { key: 'rows', label: 'Rows', numeric: true, render: (r) => fmtNumber(r.rows) },
  { key: 'gaps', label: 'Gaps', numeric: true, render: (r) => fmtNumber(r.gaps) },
];

export default function DataPage() {
  const api = useApi();
  const info = useAsync(() => api.get('/v1/datasets'), [api]);
  const chartable = useAsync(() => api.get<{ symbols?: string[] }>('/v1/symbols', { dataset: 'bars' }), [api]);
  const coverage = useMemo(() => toCoverage(info.data), [info.data]);
  const symbols = chartable.data?.symbols ?? [];
  const [picked, setPicked] = useState<string>();
  const symbol = picked ?? symbols[0];
  return (
    <section>
      <h1>Data</h1>
      <h2>Coverage</h2>
      {info.loading && !info.data && <Loading what="Reading the lake" />}
      {info.error && <ErrorBox error={info.error} onRetry={info.reload} />}
      {info.data !== undefined && (
        <DataTable rows={coverage} columns={COLUMNS} caption="Datasets and symbols in the lake" />
      )}
      <h2>Chart</h2>
      {chartable.loading && !chartable.data && <Loading what="Loading symbols" />}
      {chartable.error && <ErrorBox error={chartable.error} onRetry={chartable.reload} />}
      {chartable.data && symbols.length === 0 && <Empty>No bars in the lake yet: build them with `tickforge bars`.</Empty>}
      {symbol && (
        <BarsChart symbols={symbols} symbol={symbol} onSymbol={setPicked} coverage={coverage.filter((c) => c.symbol === symbol && c.dataset === 'bars')} />
      )}
    </section>
  );
}

interface ChartProps {
  symbols: string[];
  symbol: string;
  onSymbol: (s: string) => void;
  coverage: Coverage[];
}

/** Timeframes built in the lake for the symbol (all known ones when the lake does not say). */
export function timeframesOf(coverage: Coverage[]): string[] {
  const built = coverage.map((c) => c.timeframe).filter((t): t is string => Boolean(t));
  if (built.length === 0) return [...TIMEFRAMES];
  const rank = (t: string) => (TIMEFRAMES.indexOf(t as never) === -1 ? 99 : TIMEFRAMES.indexOf(t as never));
  return [...new Set(built)].sort((a, b) => rank(a) - rank(b));
}

/** The series' extent in the lake (epoch s) from its coverage row. */
export function limitsOf(row: Coverage | undefined): Limits {
  const at = (v: string | null | undefined) => {
    try {
      return v ? toEpochSeconds(v) : undefined;
    } catch {
      return undefined; // an unreadable extent: the chart just asks the server
    }
  };
  return { start: at(row?.start), end: at(row?.end) };
}

function BarsChart({ symbols, symbol, onSymbol, coverage }: ChartProps) {
  const api = useApi();
  const timeframes = timeframesOf(coverage);
  const [picked, setTimeframe] = useState<string>('1h');
  const timeframe = timeframes.includes(picked) ? picked : timeframes[timeframes.length > 1 ? timeframes.length - 1 : 0];
  const row = coverage.find((c) => c.timeframe === timeframe);
  const limits = useMemo(() => limitsOf(row), [row]);
  const held = useBarWindow(api, symbol, timeframe, row?.start, limits);
  const { bars, loading, error } = held;
  return (
    <div className="panel">
      <div className="toolbar">
        <label>
          Symbol{' '}
          <select value={symbol} onChange={(e) => onSymbol(e.target.value)}>
            {symbols.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <div role="radiogroup" aria-label="timeframe" className="segmented">
          {timeframes.map((tf) => (
            <button
              key={tf}
              type="button"
              role="radio"
              aria-checked={tf === timeframe}
              className={tf === timeframe ? 'active' : undefined}
              onClick={() => setTimeframe(tf)}
            >
              {tf}
            </button>
          ))}
        </div>
        <span className="muted" aria-live="polite">
          {loading ? 'Loading bars…' : `${bars.length.toLocaleString()} bars${bars.length ? ` from ${fmtTime(bars[0].time)} to ${fmtTime(bars[bars.length - 1].time)}` : ''}`}
        </span>
        {held.downsampled && (
          <span className="badge" title={`Zoomed out: the server aggregated ${timeframe} bars (OHLCV) to ${held.timeframe}; zoom in for ${timeframe} bars`}>
            downsampled to {held.timeframe}
          </span>
        )}
        <span className="muted" style={{ visibility: held.fetching ? 'visible' : 'hidden' }}>
          loading more…
        </span>
      </div>
      {error && <ErrorBox error={error} />}
      {!loading && !error && bars.length === 0 && <Empty>No {timeframe} bars for {symbol}.</Empty>}
      <CandleChart
        bars={bars}
        keep={held.keep}
        onView={held.onView}
        label={`${symbol} ${timeframe} candlestick chart with volume`}
      />
      <p className="muted">
        Drag or scroll to pan and zoom; older and newer bars load as you reach the edges. Zoomed out past one bar per
        pixel, the server aggregates bars to a coarser width.
      </p>
    </div>
  );
}
