// Pure functions turning API payloads into the shapes the UI draws. Tolerant of the
// reasonable variants (list vs {items}, columnar vs row tables, ISO vs epoch times).
import type {
  Bar,
  BarsPage,
  EquityPoint,
  Job,
  JobStatus,
  Page,
  ParamSpec,
  ParamType,
  Problem,
  Strategy,
} from './types';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Epoch seconds from an ISO string, epoch seconds, ms, us or ns. */
export function toEpochSeconds(value: unknown): number {
  if (typeof value === 'string') {
    const asNum = Number(value);
    if (!Number.isNaN(asNum) && value.trim() !== '') return toEpochSeconds(asNum);
    const hasZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value);
    const ms = Date.parse(hasZone ? value : `${value}Z`);
    if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${value}`);
    return Math.floor(ms / 1000);
  }
  if (typeof value === 'number') {
    const abs = Math.abs(value);
    if (abs > 1e17) return Math.floor(value / 1e9); // ns
    if (abs > 1e14) return Math.floor(value / 1e6); // us
    if (abs > 1e11) return Math.floor(value / 1e3); // ms
    return Math.floor(value);
  }
  throw new Error(`not a timestamp: ${String(value)}`);
}

/** Rows from an array of objects, {items|rows|data|bars|...: [...]}, or a columnar object. */
export function toRows(payload: unknown, keys: string[] = []): Obj[] {
  if (Array.isArray(payload)) return payload.filter(isObj);
  if (!isObj(payload)) return [];
  for (const key of [...keys, 'items', 'rows', 'data', 'results']) {
    if (key in payload) return toRows(payload[key]);
  }
  return columnarToRows(payload);
}

function columnarToRows(payload: Obj): Obj[] {
  const columns = Object.entries(payload).filter(([, v]) => Array.isArray(v)) as [
    string,
    unknown[],
  ][];
  if (columns.length === 0) return [];
  const n = columns[0][1].length;
  if (!columns.every(([, v]) => v.length === n)) return [];
  const rows: Obj[] = [];
  for (let i = 0; i < n; i += 1) {
    const row: Obj = {};
    for (const [name, values] of columns) row[name] = values[i];
    rows.push(row);
  }
  return rows;
}

export function toPage<T>(payload: unknown, limit: number, offset: number): Page<T> {
  const items = toRows(payload) as T[];
  const total = isObj(payload) && typeof payload.total === 'number' ? payload.total : null;
  return { items, total, limit, offset };
}

const timeOf = (row: Obj): unknown => row.ts ?? row.time ?? row.timestamp ?? row.t;

export function toBars(payload: unknown): Bar[] {
  const bars = toRows(payload, ['bars']).map((row) => ({
    time: toEpochSeconds(timeOf(row)),
    open: Number(row.open ?? row.o),
    high: Number(row.high ?? row.h),
    low: Number(row.low ?? row.l),
    close: Number(row.close ?? row.c),
    volume: Number(row.volume ?? row.v ?? row.tick_count ?? 0),
  }));
  return sortUnique(bars);
}

export function toBarsPage(payload: unknown, timeframe: string): BarsPage {
  const effective = isObj(payload) && typeof payload.timeframe === 'string' ? payload.timeframe : timeframe;
  const downsampled = isObj(payload) && payload.downsampled === true;
  return { bars: toBars(payload), timeframe: effective, downsampled };
}

/** Sort by time and drop duplicate times (lightweight-charts needs strictly ascending). */
export function sortUnique<T extends { time: number }>(points: T[]): T[] {
  const sorted = [...points].sort((a, b) => a.time - b.time);
  return sorted.filter((p, i) => i === 0 || p.time !== sorted[i - 1].time);
}

export function toEquity(payload: unknown): EquityPoint[] {
  const rows = toRows(payload, ['equity', 'points']);
  let peak = -Infinity;
  const points = rows.map((row) => {
    const equity = Number(row.equity ?? row.value);
    peak = Math.max(peak, equity);
    const dd = row.drawdown ?? (peak > 0 ? equity / peak - 1 : 0);
    return { time: toEpochSeconds(timeOf(row)), equity, drawdown: Number(dd) };
  });
  return sortUnique(points);
}

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function toJob(payload: unknown): Job {
  const row = isObj(payload) ? payload : {};
  const status = STATUSES.includes(row.status as JobStatus) ? (row.status as JobStatus) : 'queued';
  const progress = typeof row.progress === 'number' ? row.progress : status === 'succeeded' ? 1 : 0;
  const metrics = isObj(row.metrics) ? (row.metrics as Record<string, number | null>) : undefined;
  return { ...row, id: String(row.id ?? ''), status, progress, metrics };
}

export const isFinished = (status: JobStatus): boolean =>
  status === 'succeeded' || status === 'failed' || status === 'cancelled';

function paramType(raw: unknown, fallback: unknown): ParamType {
  const t = String(raw ?? '').toLowerCase();
  if (t === 'int' || t === 'integer') return 'integer';
  if (t === 'float' || t === 'number') return 'number';
  if (t === 'bool' || t === 'boolean') return 'boolean';
  if (t === 'str' || t === 'string') return 'string';
  if (typeof fallback === 'boolean') return 'boolean';
  if (typeof fallback === 'number') return Number.isInteger(fallback) ? 'integer' : 'number';
  return 'string';
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function toParamSpec(name: string, raw: Obj): ParamSpec {
  const dflt = raw.default as ParamSpec['default'];
  return {
    name,
    type: paramType(raw.type, dflt),
    default: dflt,
    minimum: num(raw.minimum ?? raw.min ?? raw.ge ?? raw.low),
    maximum: num(raw.maximum ?? raw.max ?? raw.le ?? raw.high),
    enum: Array.isArray(raw.enum ?? raw.choices)
      ? ((raw.enum ?? raw.choices) as (string | number)[])
      : undefined,
    description: typeof raw.description === 'string' ? raw.description : undefined,
  };
}

/** Parameter specs from JSON Schema ({properties}), a list of {name,...}, or a {name: spec} map. */
export function toParamSpecs(schema: unknown): ParamSpec[] {
  if (Array.isArray(schema)) {
    return schema.filter(isObj).map((p) => toParamSpec(String(p.name), p));
  }
  if (!isObj(schema)) return [];
  if (isObj(schema.properties)) return toParamSpecs(schema.properties);
  if (isObj(schema.params) || Array.isArray(schema.params)) return toParamSpecs(schema.params);
  return Object.entries(schema)
    .filter(([, v]) => isObj(v))
    .map(([name, v]) => toParamSpec(name, v as Obj));
}

export function toStrategies(payload: unknown): Strategy[] {
  const rows = toRows(payload, ['strategies']);
  if (rows.length === 0 && isObj(payload)) {
    return Object.entries(payload)
      .filter(([, v]) => isObj(v))
      .map(([name, v]) => ({ name, params: toParamSpecs(v) }));
  }
  return rows.map((row) => ({
    name: String(row.name),
    description: typeof row.description === 'string' ? row.description : undefined,
    params: toParamSpecs(row.params ?? row.parameters ?? row.schema ?? row.param_schema),
  }));
}

/** The field a problem names: explicit `field`, or the last loc of the first validation error. */
export function problemField(problem: Problem): string | undefined {
  if (problem.field) return problem.field;
  const first = problem.errors?.[0];
  if (!first) return undefined;
  if (first.field) return first.field;
  const loc = first.loc?.filter((p) => p !== 'body' && p !== 'query');
  return loc && loc.length ? String(loc[loc.length - 1]) : undefined;
}

export interface Coverage {
  dataset: string;
  symbol: string;
  rows: number | null;
  start: string | null;
  end: string | null;
  gaps: number | null;
  timeframe?: string;
}

const COVERAGE_KEYS = ['rows', 'row_count', 'count', 'start', 'end', 'min_ts', 'max_ts', 'first', 'last'];
const DATASETS = ['quotes', 'trades', 'bars', 'quarantine'];

function asText(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function asCount(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.length;
  return null;
}

function coverageRow(obj: Obj, path: string[]): Coverage {
  const dataset = String(obj.dataset ?? [...path].reverse().find((p) => DATASETS.includes(p)) ?? path[0] ?? '');
  const named = String(obj.symbol ?? obj.name ?? path[path.length - 1] ?? '');
  const [symbol, tfFromKey] = named.includes('/') ? named.split('/', 2) : [named, undefined];
  return {
    dataset,
    symbol,
    rows: asCount(obj.rows ?? obj.row_count ?? obj.count),
    start: asText(obj.start ?? obj.min_ts ?? obj.first),
    end: asText(obj.end ?? obj.max_ts ?? obj.last),
    gaps: asCount(obj.gaps ?? obj.gap_count),
    timeframe: typeof obj.timeframe === 'string' ? obj.timeframe : tfFromKey,
  };
}

/** Per-(dataset, symbol) coverage rows found anywhere in the lake info document. */
export function toCoverage(info: unknown, path: string[] = []): Coverage[] {
  if (Array.isArray(info)) {
    return info.flatMap((item, i) =>
      toCoverage(item, [...path, isObj(item) ? String(item.symbol ?? item.name ?? i) : String(i)]),
    );
  }
  if (!isObj(info)) return [];
  const looksLikeRow = (obj: Obj) => COVERAGE_KEYS.some((k) => k in obj) && !hasNested(obj);
  if (looksLikeRow(info) && path.length > 0) return [coverageRow(info, path)];
  return Object.entries(info).flatMap(([k, v]) => (isObj(v) || Array.isArray(v) ? toCoverage(v, [...path, k]) : []));
}

function hasNested(obj: Obj): boolean {
  return Object.values(obj).some((v) => isObj(v) || (Array.isArray(v) && v.some(isObj)));
}
