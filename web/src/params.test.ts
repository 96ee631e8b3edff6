import { expect, it } from 'vitest';
import type { ParamSpec } from './api/types';
import { parseAxis, parseParam, parseParams } from './params';

const int: ParamSpec = { name: 'fast', type: 'integer', minimum: 2, maximum: 100 };
const flt: ParamSpec = { name: 'k', type: 'number' };

it('types and bounds single values', () => {
  expect(parseParam(int, ' 7 ')).toEqual({ value: 7 });
  expect(parseParam(int, '')).toEqual({ error: 'required' });
  expect(parseParam(int, '7.5')).toEqual({ error: 'must be a whole number' });
  expect(parseParam(int, '101')).toEqual({ error: 'must be ≤ 100' });
  expect(parseParam(flt, 'abc')).toEqual({ error: 'must be a number' });
  expect(parseParam({ name: 'b', type: 'boolean' }, 'true')).toEqual({ value: true });
});

it('collects errors per field', () => {
  const r = parseParams([int, flt], { fast: '1', k: '0.5' });
  expect(r).toEqual({ values: { k: 0.5 }, errors: { fast: 'must be ≥ 2' }, ok: false });
});

it('expands grid axes from ranges and lists', () => {
  expect(parseAxis(int, '5:20:5')).toEqual({ values: [5, 10, 15, 20] });
  expect(parseAxis(flt, '0.1:0.3:0.1')).toEqual({ values: [0.1, 0.2, 0.3] });
  expect(parseAxis(int, '3, 8,13')).toEqual({ values: [3, 8, 13] });
  expect(parseAxis(int, '1:5:1').error).toBe('1: must be ≥ 2');
  expect(parseAxis(int, '2:90:0').error).toBe('step must be > 0');
});
