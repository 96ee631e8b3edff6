// The shared part of the backtest and sweep forms: strategy, symbol, timeframe, range, cash.
import type { Strategy } from '../api/types';
import { TIMEFRAMES } from '../format';

export interface BaseValues {
  strategy: string;
  symbol: string;
  timeframe: string;
  start: string;
  end: string;
  cash: string;
}

export const emptyBase = (): BaseValues => ({ strategy: '', symbol: '', timeframe: '1h', start: '', end: '', cash: '100000' });

export function validateBase(v: BaseValues): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!v.strategy) errors.strategy = 'choose a strategy';
  if (!v.symbol) errors.symbol = 'choose a symbol';
  const cash = Number(v.cash);
  if (!(cash > 0)) errors.cash = 'must be a number > 0';
  if (v.start && v.end && v.end <= v.start) errors.end = 'must be after the start';
  return errors;
}

/** Request body fields of a BacktestConfig from the form. */
export function baseRequest(v: BaseValues) {
  return {
    strategy: v.strategy,
    symbols: [v.symbol],
    timeframe: v.timeframe,
    cash: Number(v.cash),
    ...(v.start ? { start: `${v.start}:00Z` } : {}),
    ...(v.end ? { end: `${v.end}:00Z` } : {}),
  };
}

/** Which form field a server problem's field path points at. */
export function formField(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const path = field.replace(/^(sweep\.)?(base\.)?/, '');
  if (path.startsWith('params.')) return `param:${path.slice('params.'.length)}`;
  if (path.startsWith('symbols')) return 'symbol';
  return path.split('.')[0];
}

interface Props {
  values: BaseValues;
  errors: Record<string, string>;
  strategies: Strategy[];
  symbols: string[];
  onChange: (name: keyof BaseValues, value: string) => void;
}

function FieldError({ id, error }: { id: string; error?: string }) {
  if (!error) return null;
  return (
    <span className="field-error" id={`${id}-error`} role="alert">
      {error}
    </span>
  );
}

export function BaseFields({ values, errors, strategies, symbols, onChange }: Props) {
  const describe = (name: string) => (errors[name] ? { 'aria-invalid': true, 'aria-describedby': `f-${name}-error` } : {});
  return (
    <fieldset className="grid-fields">
      <legend>Run</legend>
      <div className="field">
        <label htmlFor="f-strategy">Strategy</label>
        <select id="f-strategy" value={values.strategy} onChange={(e) => onChange('strategy', e.target.value)} {...describe('strategy')}>
          <option value="">Choose…</option>
          {strategies.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name}
            </option>
          ))}
        </select>
        <FieldError id="f-strategy" error={errors.strategy} />
      </div>
      <div className="field">
        <label htmlFor="f-symbol">Symbol</label>
        <select id="f-symbol" value={values.symbol} onChange={(e) => onChange('symbol', e.target.value)} {...describe('symbol')}>
          <option value="">Choose…</option>
          {symbols.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <FieldError id="f-symbol" error={errors.symbol} />
      </div>
      <div className="field">
        <label htmlFor="f-timeframe">Timeframe</label>
        <select id="f-timeframe" value={values.timeframe} onChange={(e) => onChange('timeframe', e.target.value)} {...describe('timeframe')}>
          <option value="ticks">ticks (bid/ask)</option>
          {TIMEFRAMES.map((tf) => (
            <option key={tf}>{tf}</option>
          ))}
        </select>
        <FieldError id="f-timeframe" error={errors.timeframe} />
      </div>
      <div className="field">
        <label htmlFor="f-start">Start (UTC, optional)</label>
        <input id="f-start" type="datetime-local" value={values.start} onChange={(e) => onChange('start', e.target.value)} {...describe('start')} />
        <FieldError id="f-start" error={errors.start} />
      </div>
      <div className="field">
        <label htmlFor="f-end">End (UTC, optional)</label>
        <input id="f-end" type="datetime-local" value={values.end} onChange={(e) => onChange('end', e.target.value)} {...describe('end')} />
        <FieldError id="f-end" error={errors.end} />
      </div>
      <div className="field">
        <label htmlFor="f-cash">Cash</label>
        <input id="f-cash" inputMode="decimal" value={values.cash} onChange={(e) => onChange('cash', e.target.value)} {...describe('cash')} />
        <FieldError id="f-cash" error={errors.cash} />
      </div>
    </fieldset>
  );
}

export async function loadFormData(api: { strategies: () => Promise<Strategy[]>; get: <T>(p: string, q?: Record<string, string>) => Promise<T> }) {
  const [strategies, quotes, bars] = await Promise.all([
    api.strategies(),
    api.get<{ symbols?: string[] }>('/v1/symbols', { dataset: 'quotes' }).catch(() => ({ symbols: [] })),
    api.get<{ symbols?: string[] }>('/v1/symbols', { dataset: 'bars' }).catch(() => ({ symbols: [] })),
  ]);
  const symbols = [...new Set([...(quotes.symbols ?? []), ...(bars.symbols ?? [])])].sort();
  return { strategies, symbols };
}
