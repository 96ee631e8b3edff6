// Parameter values typed from a strategy's parameter schema, with per-field errors.
import type { ParamSpec, Scalar } from './api/types';

export type RawValues = Record<string, string>;

export function defaultRaw(specs: ParamSpec[]): RawValues {
  return Object.fromEntries(specs.map((p) => [p.name, p.default === undefined ? '' : String(p.default)]));
}

/** Parse one raw input against its spec: a value, or an error message. */
export function parseParam(spec: ParamSpec, raw: string): { value?: Scalar; error?: string } {
  const text = raw.trim();
  if (spec.type === 'boolean') return { value: text === 'true' };
  if (text === '') return { error: 'required' };
  if (spec.type === 'string') {
    if (spec.enum && !spec.enum.map(String).includes(text)) return { error: `one of ${spec.enum.join(', ')}` };
    return { value: text };
  }
  const value = Number(text);
  if (!Number.isFinite(value)) return { error: 'must be a number' };
  if (spec.type === 'integer' && !Number.isInteger(value)) return { error: 'must be a whole number' };
  if (spec.minimum !== undefined && value < spec.minimum) return { error: `must be ≥ ${spec.minimum}` };
  if (spec.maximum !== undefined && value > spec.maximum) return { error: `must be ≤ ${spec.maximum}` };
  return { value };
}

export function parseParams(specs: ParamSpec[], raw: RawValues) {
  const values: Record<string, Scalar> = {};
  const errors: Record<string, string> = {};
  for (const spec of specs) {
    const { value, error } = parseParam(spec, raw[spec.name] ?? '');
    if (error) errors[spec.name] = error;
    else if (value !== undefined) values[spec.name] = value;
  }
  return { values, errors, ok: Object.keys(errors).length === 0 };
}

/** Grid axis from "a:b:step" (inclusive) or "v1,v2,v3"; errors say what is wrong. */
export function parseAxis(spec: ParamSpec, text: string): { values?: Scalar[]; error?: string } {
  const t = text.trim();
  if (t === '') return { values: [] };
  const range = /^(-?[\d.]+)\s*:\s*(-?[\d.]+)\s*:\s*([\d.]+)$/.exec(t);
  if (range) return expandRange(spec, Number(range[1]), Number(range[2]), Number(range[3]));
  const values: Scalar[] = [];
  for (const part of t.split(',')) {
    const { value, error } = parseParam(spec, part);
    if (error) return { error: `${part.trim()}: ${error}` };
    values.push(value as Scalar);
  }
  return { values };
}

function expandRange(spec: ParamSpec, a: number, b: number, step: number) {
  if (!(step > 0)) return { error: 'step must be > 0' };
  if (b < a) return { error: 'end must be ≥ start' };
  const n = Math.floor((b - a) / step + 1e-9) + 1;
  if (n > 1000) return { error: `${n} values; at most 1000 per axis` };
  const values: Scalar[] = [];
  for (let i = 0; i < n; i += 1) {
    const v = Number((a + i * step).toPrecision(12));
    const { error } = parseParam(spec, String(v));
    if (error) return { error: `${v}: ${error}` };
    values.push(v);
  }
  return { values };
}
