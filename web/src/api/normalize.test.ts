import { describe, expect, it } from 'vitest';
import { problemField, toBars, toCoverage, toEpochSeconds, toEquity, toJob, toParamSpecs, toRows, toStrategies } from './normalize';

describe('toEpochSeconds', () => {
  it('reads ISO with and without zone, and epoch s/ms/ns', () => {
    expect(toEpochSeconds('2024-01-02T03:04:05Z')).toBe(1704164645);
    expect(toEpochSeconds('2024-01-02T03:04:05')).toBe(1704164645);
    expect(toEpochSeconds('2024-01-02T05:04:05+02:00')).toBe(1704164645);
    expect(toEpochSeconds(1704164645)).toBe(1704164645);
    expect(toEpochSeconds(1704164645123)).toBe(1704164645);
    expect(toEpochSeconds(1704164645123456789)).toBe(1704164645);
  });
  it('rejects garbage', () => {
    expect(() => toEpochSeconds('yesterday-ish')).toThrow(/not a timestamp/);
  });
});

describe('toRows', () => {
  it('accepts lists, wrapped lists and columnar tables', () => {
    expect(toRows([{ a: 1 }])).toEqual([{ a: 1 }]);
    expect(toRows({ items: [{ a: 1 }], total: 1 })).toEqual([{ a: 1 }]);
    expect(toRows({ a: [1, 2], b: ['x', 'y'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ]);
  });
});

describe('toBars', () => {
  it('sorts, de-duplicates and converts times', () => {
    const bars = toBars({
      bars: [
        { ts: '2024-01-01T00:01:00Z', open: 2, high: 3, low: 1, close: 2.5, volume: 7 },
        { ts: '2024-01-01T00:00:00Z', open: 1, high: 2, low: 0.5, close: 2, volume: 5 },
        { ts: '2024-01-01T00:01:00Z', open: 9, high: 9, low: 9, close: 9, volume: 9 },
      ],
    });
    expect(bars.map((b) => b.time)).toEqual([1704067200, 1704067260]);
    expect(bars[0]).toMatchObject({ open: 1, close: 2, volume: 5 });
  });
});

describe('toEquity', () => {
  it('computes drawdown from the running peak when absent', () => {
    const eq = toEquity({ items: [
      { ts: 0, equity: 100 },
      { ts: 60, equity: 120 },
      { ts: 120, equity: 90 },
    ] });
    expect(eq.map((p) => p.drawdown)).toEqual([0, 0, 90 / 120 - 1]);
  });
});

describe('toParamSpecs', () => {
  it('reads JSON Schema properties', () => {
    const specs = toParamSpecs({ type: 'object', properties: { fast: { type: 'integer', minimum: 2, maximum: 500, default: 20 }, mode: { type: 'string', enum: ['a', 'b'], default: 'a' } } });
    expect(specs).toEqual([
      { name: 'fast', type: 'integer', default: 20, minimum: 2, maximum: 500, enum: undefined, description: undefined },
      { name: 'mode', type: 'string', default: 'a', minimum: undefined, maximum: undefined, enum: ['a', 'b'], description: undefined },
    ]);
  });
  it('reads a list of {name, type: "float", min, max}', () => {
    const [spec] = toParamSpecs([{ name: 'k', type: 'float', min: 0.5, max: 4, default: 2 }]);
    expect(spec).toMatchObject({ name: 'k', type: 'number', minimum: 0.5, maximum: 4 });
  });
  it('infers the type from the default', () => {
    expect(toParamSpecs({ flag: { default: true } })[0].type).toBe('boolean');
  });
});

describe('toStrategies', () => {
  it('reads {strategies: [{name, params}]}', () => {
    const s = toStrategies({ strategies: [{ name: 'sma_cross', params: { fast: { type: 'int', default: 10 } } }] });
    expect(s[0].name).toBe('sma_cross');
    expect(s[0].params[0]).toMatchObject({ name: 'fast', type: 'integer', default: 10 });
  });
});

describe('toCoverage', () => {
  it('finds per-symbol rows in nested lake info', () => {
    const rows = toCoverage({ root: '/lake', datasets: { quotes: { symbols: { EURUSD: { rows: 10, start: 'a', end: 'b' } } }, bars: { symbols: [{ symbol: 'EURUSD', timeframe: '1min', rows: 3, start: 'c', end: 'd' }] } } });
    expect(rows).toEqual([
      { dataset: 'quotes', symbol: 'EURUSD', rows: 10, start: 'a', end: 'b', gaps: null, timeframe: undefined },
      { dataset: 'bars', symbol: 'EURUSD', rows: 3, start: 'c', end: 'd', gaps: null, timeframe: '1min' },
    ]);
  });
  it('splits "SYMBOL/timeframe" keys of the lake info', () => {
    const info = { uri: 'lake', datasets: { bars: { symbols: { 'EURUSD/1h': { rows: 72, files: 1, bytes: 9, start: 's', end: 'e' } }, rows: 72, bytes: 9, files: 1 } }, rows: 72 };
    expect(toCoverage(info)).toEqual([{ dataset: 'bars', symbol: 'EURUSD', timeframe: '1h', rows: 72, start: 's', end: 'e', gaps: null }]);
  });
});

describe('problems and jobs', () => {
  it('names the field of a problem', () => {
    expect(problemField({ field: 'params.fast' })).toBe('params.fast');
    expect(problemField({ errors: [{ loc: ['body', 'symbols', 0] }] })).toBe('0');
    expect(problemField({ detail: 'x' })).toBeUndefined();
  });
  it('normalises a job', () => {
    expect(toJob({ id: 7, status: 'succeeded' })).toMatchObject({ id: '7', status: 'succeeded', progress: 1 });
    expect(toJob({ id: 8, status: 'weird', progress: 0.4 })).toMatchObject({ status: 'queued', progress: 0.4 });
  });
});
