import { screen, within } from '@testing-library/react';
import { expect, it } from 'vitest';
import { drawn } from '../test/fakeCharts';
import { renderPage } from '../test/render';
import { serve } from '../test/server';
import BacktestDetailPage, { tradeMarkers } from './BacktestDetail';

const config = { strategy: 'sma_cross', symbols: ['EURUSD'], timeframe: '1h', params: { fast: 5, slow: 20 } };
const trades = [
  { symbol: 'EURUSD', direction: 1, size: 1000, entry_time: '2024-01-01T02:00:00Z', entry_price: 1.1, exit_time: '2024-01-01T05:00:00Z', exit_price: 1.2, pnl: 100, return_pct: 0.09, exit_reason: 'signal' },
  { symbol: 'EURUSD', direction: -1, size: 1000, entry_time: '2024-01-01T06:00:00Z', entry_price: 1.2, exit_time: '2024-01-01T08:00:00Z', exit_price: 1.25, pnl: -50, return_pct: -0.04, exit_reason: 'signal' },
];

it('polls a running job, then shows metrics, charts and trades', async () => {
  let polls = 0;
  serve({
    'GET /v1/backtests/9': () => {
      polls += 1;
      return polls < 2
        ? { id: 9, status: 'running', progress: 0.5, config }
        : { id: 9, status: 'succeeded', progress: 1, config, metrics: { sharpe: 1.234, total_return: 0.05, trades: 2 }, artifacts: ['equity', 'report', 'trades'] };
    },
    'GET /v1/backtests/9/trades': () => ({ items: trades, total: 2, limit: 500, offset: 0 }),
    'GET /v1/backtests/9/equity': () => ({ items: [{ ts: '2024-01-01T00:00:00Z', equity: 100, drawdown: 0 }, { ts: '2024-01-01T01:00:00Z', equity: 95, drawdown: -0.05 }], total: 2, limit: 500, offset: 0 }),
    'GET /v1/bars': () => ({ bars: Array.from({ length: 10 }, (_, i) => ({ ts: 1704067200 + i * 3600, open: 1, high: 2, low: 0.5, close: 1.5, volume: 3 })) }),
  });
  renderPage(<BacktestDetailPage />, '/backtests/9', '/backtests/:id');
  expect(await screen.findByLabelText('progress 50%')).toBeInTheDocument();
  const cards = await screen.findByLabelText('metrics', {}, { timeout: 3000 });
  expect(within(cards).getByText('sharpe').nextSibling).toHaveTextContent('1.234');
  expect(within(cards).getByText('total return').nextSibling).toHaveTextContent('5.00%');
  const table = await screen.findByRole('table', { name: '2 trades' });
  expect(within(table).getByText('-50.00')).toHaveClass('neg');
  expect(screen.getByRole('button', { name: 'Open HTML report' })).toBeEnabled();
  await screen.findByRole('img', { name: 'EURUSD 1h price with trade markers' });
  const candles = drawn.series.filter((s) => s.kind === 'candles').at(-1);
  expect(candles?.markers).toHaveLength(4);
  const dd = drawn.series.filter((s) => s.kind === 'line').map((s) => s.data);
  expect(dd).toContainEqual([{ time: 1704067200, value: 0 }, { time: 1704070800, value: -5 }]);
});

it('shows why a run failed', async () => {
  serve({ 'GET /v1/backtests/3': () => ({ id: 3, status: 'failed', progress: 0.2, config, error: 'no data in range' }) });
  renderPage(<BacktestDetailPage />, '/backtests/3', '/backtests/:id');
  expect(await screen.findByRole('alert')).toHaveTextContent('The run failed: no data in range');
});

it('marks long entries as buys and short entries as sells', () => {
  expect(tradeMarkers(trades).map((m) => m.side)).toEqual(['buy', 'sell', 'sell', 'buy']);
});
