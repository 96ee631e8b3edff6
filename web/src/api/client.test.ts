import { expect, it } from 'vitest';
import { problem, serve } from '../test/server';
import { ApiClient, ApiError } from './client';

it('sends the Bearer key and turns problem+json into an ApiError naming the field', async () => {
  const calls = serve({ 'GET /v1/bars': () => problem(422, 'end must be after start', 'end') });
  const api = new ApiClient('secret');
  const err = await api.bars('EURUSD', '1h', '2024-02-01', '2024-01-01').catch((e) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toMatchObject({ status: 422, field: 'end', message: 'end must be after start' });
  expect(calls[0].auth).toBe('Bearer secret');
  expect(calls[0].query.get('symbol')).toBe('EURUSD');
  expect(calls[0].query.get('max_points')).toBe('0'); // the chart pages raw bars itself
});

it('asks for downsampled bars and reads the effective width', async () => {
  const calls = serve({ 'GET /v1/bars': () => ({ timeframe: '1h', downsampled: true, bars: [{ ts: '2024-01-01T00:00:00Z', open: 1, high: 2, low: 0.5, close: 1.5, volume: 60 }] }) });
  const page = await new ApiClient('k').barsPage({ symbol: 'EURUSD', timeframe: '1min', start: '2024-01-01T00:00:00Z', end: '2024-01-02T00:00:00Z', limit: 900, maxPoints: 900 });
  expect(page).toMatchObject({ timeframe: '1h', downsampled: true });
  expect(page.bars).toEqual([{ time: 1704067200, open: 1, high: 2, low: 0.5, close: 1.5, volume: 60 }]);
  expect(calls[0].query.get('max_points')).toBe('900');
  expect(calls[0].query.get('limit')).toBe('900');
});

it('reads every page of a list', async () => {
  const all = Array.from({ length: 1234 }, (_, i) => ({ i }));
  const calls = serve({
    'GET /v1/accounts/1/fills': (c) => {
      const limit = Number(c.query.get('limit'));
      const offset = Number(c.query.get('offset'));
      return { items: all.slice(offset, offset + limit), total: all.length, limit, offset };
    },
  });
  const fills = await new ApiClient('k').fills('1');
  expect(fills.map((f) => (f as unknown as { i: number }).i)).toEqual(all.map((r) => r.i));
  expect(calls).toHaveLength(3);
});

it('reports an unreachable API clearly', async () => {
  serve({});
  globalThis.fetch = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch;
  const err = await new ApiClient('k').strategies().catch((e) => e);
  expect(err.message).toBe('Cannot reach the API: Failed to fetch');
});
