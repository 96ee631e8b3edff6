import { fmtMetric } from '../format';

const ORDER = ['total_return', 'cagr', 'sharpe', 'sortino', 'max_drawdown', 'calmar', 'win_rate', 'profit_factor', 'trades'];

export function orderedMetrics(metrics: Record<string, unknown>): [string, unknown][] {
  const rank = (k: string) => (ORDER.indexOf(k) === -1 ? ORDER.length : ORDER.indexOf(k));
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number' || v === null)
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

export function MetricCards({ metrics, limit = 12 }: { metrics: Record<string, unknown>; limit?: number }) {
  const shown = orderedMetrics(metrics).slice(0, limit);
  return (
    <dl className="cards" aria-label="metrics">
      {shown.map(([name, value]) => (
        <div className="card" key={name} data-metric={name}>
          <dt>{name.replace(/_/g, ' ')}</dt>
          <dd>{fmtMetric(name, value)}</dd>
        </div>
      ))}
    </dl>
  );
}
