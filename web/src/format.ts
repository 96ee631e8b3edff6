// Display helpers.
const NUM = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const PRICE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });

export function fmtNumber(v: unknown, digits?: number): string {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (digits !== undefined) return n.toFixed(digits);
  return Math.abs(n) >= 1e6 ? n.toExponential(3) : NUM.format(n);
}

export const fmtPrice = (v: unknown): string =>
  v === null || v === undefined || !Number.isFinite(Number(v)) ? '—' : PRICE.format(Number(v));

export const fmtPct = (v: unknown): string =>
  v === null || v === undefined || !Number.isFinite(Number(v)) ? '—' : `${(Number(v) * 100).toFixed(2)}%`;

export function fmtTime(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

/** Metrics expressed as fractions are shown as percentages. */
const PCT_METRICS = /return|drawdown|dd|win_rate|exposure|cagr|volatility/i;

export function fmtMetric(name: string, v: unknown): string {
  if (typeof v === 'number' && PCT_METRICS.test(name) && Math.abs(v) <= 100) return fmtPct(v);
  return fmtNumber(v, typeof v === 'number' && Math.abs(v) < 100 ? 3 : undefined);
}

export const TIMEFRAMES = ['1min', '5min', '15min', '1h', '4h', '1d'] as const;

const UNIT_SECONDS: Record<string, number> = { s: 1, min: 60, m: 60, h: 3600, d: 86400 };

export function timeframeSeconds(tf: string): number {
  const m = /^(\d+)\s*(s|min|m|h|d)$/.exec(tf);
  if (!m) throw new Error(`unknown timeframe: ${tf}`);
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}

export const isoSeconds = (t: number): string => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
