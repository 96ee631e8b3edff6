// The Data page's chart: a raw window first, then (zoomed out past one bar per pixel) a
// window downsampled by the server, said so in the toolbar; raw again when zoomed back in.
import { act, screen, waitFor } from '@testing-library/react';
import { expect, it } from 'vitest';
import { drawn } from '../test/fakeCharts';
import { renderPage } from '../test/render';
import { serve, type Call } from '../test/server';
import DataPage from './Data';

const T0 = 1704067200; // 2024-01-01 00:00 UTC
const MINUTES = 20_000;
const END = T0 + (MINUTES - 1) * 60;
const iso = (t: number) => new Date(t * 1000).toISOString();
const at = (q: URLSearchParams, k: string, dflt: number) => (q.get(k) ? Date.parse(q.get(k)!) / 1000 : dflt);

const LADDER: [number, string][] = [[60, '1min'], [300, '5min'], [3600, '1h'], [86400, '1d']];

/** The lake: 20,000 one-minute bars; past `max_points`, the finest width of LADDER that fits. */
function bars(call: Call) {
  const q = call.query;
  const from = Math.max(at(q, 'start', T0), T0);
  const to = Math.min(at(q, 'end', END + 1), END + 1);
  const maxPoints = Number(q.get('max_points'));
  const fits = ([w]: [number, string]) => maxPoints === 0 || (to - from) / w <= maxPoints;
  const [step, timeframe] = LADDER.find(fits) ?? LADDER[3];
  const rows = [];
  for (let t = Math.ceil(from / step) * step; t < to && rows.length < Number(q.get('limit')); t += step) {
    rows.push({ ts: iso(t), open: 1, high: 2, low: 0.5, close: 1.5, volume: 1 });
  }
  return { timeframe, downsampled: step > 60, bars: rows };
}

it('asks the server for downsampled bars when zoomed out, and raw bars again when zoomed in', async () => {
  const calls = serve({
    'GET /v1/datasets': () => ({ datasets: { bars: { symbols: { 'EURUSD/1min': { rows: MINUTES, start: iso(T0), end: iso(END) } } } } }),
    'GET /v1/symbols': () => ({ symbols: ['EURUSD'] }),
    'GET /v1/bars': bars,
  });
  renderPage(<DataPage />, '/data');
  expect(await screen.findByText(/^1,500 bars from 2024-01-01 00:00:00/)).toBeInTheDocument();
  expect(calls.find((c) => c.path === '/v1/bars')?.query.get('max_points')).toBe('0');
  const chart = drawn.charts.at(-1)!;

  act(() => chart.scroll({ from: 0, to: 1499 })); // 1,500 bars on 1,000 px
  expect(await screen.findByText('downsampled to 5min')).toBeInTheDocument();
  const wide = calls.filter((c) => c.path === '/v1/bars').at(-1)!;
  expect(wide.query.get('max_points')).toBe('1500');
  const candles = drawn.series.filter((s) => s.kind === 'candles').at(-1)!;
  // the series takes the bars in an effect, which may run a little after the toolbar renders
  await waitFor(() => expect(candles.data[1].time - candles.data[0].time).toBe(300));
  expect(candles.data.length).toBeLessThanOrEqual(1500);
  expect(chart.range?.from).toBeCloseTo(0, 6); // still from 00:00 ...
  expect(chart.range?.to).toBeCloseTo(1499 / 5, 6); // ... to 24:59, now in five minutes

  act(() => chart.scroll({ from: 12, to: 24 })); // one hour on 1,000 px
  await waitFor(() => expect(screen.queryByText(/downsampled/)).toBeNull());
  expect(calls.filter((c) => c.path === '/v1/bars').at(-1)?.query.get('max_points')).toBe('1500');
  await waitFor(() => expect(candles.data[1].time - candles.data[0].time).toBe(60));
});
