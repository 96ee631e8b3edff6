// Pure helpers of the pages: grid building, ticket checks, live equity points, timeframes.
import { expect, it } from 'vitest';
import { timeframesOf } from './Data';
import { appendPoint, ticketErrors } from './Paper';
import { windowLines } from './SweepDetail';
import { buildGrid } from './Sweeps';

it('builds a sweep grid and counts the sets', () => {
  const specs = [{ name: 'fast', type: 'integer', minimum: 2 }, { name: 'slow', type: 'integer' }, { name: 'k', type: 'number' }];
  const r = buildGrid(specs, { fast: '5:15:5', slow: '20,40', k: '' });
  expect(r).toEqual({ grid: { fast: [5, 10, 15], slow: [20, 40] }, errors: {}, sets: 6 });
  expect(buildGrid(specs, { fast: '1,5' }).errors).toEqual({ fast: '1: must be ≥ 2' });
  expect(buildGrid(specs, {}).sets).toBe(0);
});

it('checks an order ticket before sending it', () => {
  expect(ticketErrors({ symbol: 'EURUSD', side: 'buy', quantity: '1000', type: 'market', price: '' })).toEqual({});
  expect(ticketErrors({ symbol: '', side: 'buy', quantity: '-1', type: 'limit', price: '' })).toEqual({
    symbol: 'choose a symbol',
    quantity: 'must be a number > 0',
    price: 'a limit order needs a price > 0',
  });
});

it('appends live equity points at new feed times only', () => {
  let pts = appendPoint([], { cash: 1, equity: 100, as_of: '2024-01-01T00:00:00+00:00' });
  pts = appendPoint(pts, { cash: 1, equity: 101, as_of: '2024-01-01T00:00:00+00:00' });
  pts = appendPoint(pts, { cash: 1, equity: 102, as_of: '2024-01-01T00:00:05+00:00' });
  pts = appendPoint(pts, { cash: 1, equity: 99, as_of: '2023-12-31T00:00:00+00:00' });
  expect(pts).toEqual([{ time: 1704067200, value: 101 }, { time: 1704067205, value: 102 }]);
});

it('plots in- and out-of-sample objectives per walk-forward window', () => {
  const lines = windowLines([
    { test_start: '2024-01-08T00:00:00', is_objective: 2, oos_objective: 0.5 },
    { test_start: '2024-01-10T00:00:00', is_objective: 1.5, oos_objective: null },
  ]);
  expect(lines[0].points).toEqual([{ time: 1704672000, value: 2 }, { time: 1704844800, value: 1.5 }]);
  expect(lines[1].points).toEqual([{ time: 1704672000, value: 0.5 }]);
});

it('offers the timeframes built in the lake, in order', () => {
  const row = (timeframe?: string) => ({ dataset: 'bars', symbol: 'X', rows: 1, start: null, end: null, gaps: null, timeframe });
  expect(timeframesOf([row('1h'), row('1min'), row('5min')])).toEqual(['1min', '5min', '1h']);
  expect(timeframesOf([row()])).toContain('1d');
});
