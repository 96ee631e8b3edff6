// Types of the tickforge REST API (base /v1). Request bodies and job/order/account shapes
// come from src/api/schema.gen.ts, generated from the service's OpenAPI schema by
// scripts/gen-api.mjs (`npm run gen-api`); the rest are the shapes the UI draws (the client
// normalises payload variants into them, see normalize.ts).
import type { components } from './schema.gen';

type Schemas = components['schemas'];
export type AccountOut = Schemas['AccountOut'];
export type OrderOut = Schemas['OrderOut'];
export type JobOut = Schemas['JobOut'];
export type NewAccount = Schemas['NewAccount'];

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Page<T> {
  items: T[];
  total: number | null;
  limit: number;
  offset: number;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { loc?: (string | number)[]; msg?: string; field?: string }[];
  field?: string;
}

export interface Dataset {
  name: string;
  kind?: string;
  symbols?: string[];
  rows?: number | null;
  start?: string | null;
  end?: string | null;
  [key: string]: unknown;
}

export interface SymbolInfo {
  symbol: string;
  dataset?: string;
  rows?: number | null;
  start?: string | null;
  end?: string | null;
  gaps?: number | null;
  timeframes?: string[];
  [key: string]: unknown;
}

export interface Bar {
  time: number; // epoch seconds (UTC)
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** An answer of /v1/bars: `timeframe` is the effective width (coarser when downsampled). */
export interface BarsPage {
  bars: Bar[];
  timeframe: string;
  downsampled: boolean;
}

export type ParamType = 'integer' | 'number' | 'boolean' | 'string';

export interface ParamSpec {
  name: string;
  type: ParamType;
  default?: number | boolean | string;
  minimum?: number;
  maximum?: number;
  enum?: (string | number)[];
  description?: string;
}

export interface Strategy {
  name: string;
  description?: string;
  params: ParamSpec[];
}

export type Scalar = number | string | boolean;

/** A backtest request: the generated schema's fields, with the ones the UI sends. */
export type BacktestRequest = Partial<Schemas['BacktestRequest']> & {
  symbols: string[];
  strategy: string;
  params: Record<string, Scalar>;
  timeframe: string;
};

export interface Job {
  id: string;
  status: JobStatus;
  progress: number;
  created_at?: string;
  finished_at?: string | null;
  error?: string | null;
  metrics?: Record<string, number | null>;
  config?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Trade {
  symbol?: string;
  direction: number;
  size: number;
  entry_time: string;
  entry_price: number;
  exit_time: string;
  exit_price: number;
  pnl: number;
  return_pct?: number;
  fees?: number;
  exit_reason?: string;
  [key: string]: unknown;
}

export interface EquityPoint {
  time: number; // epoch seconds
  equity: number;
  drawdown: number; // fraction <= 0
}

export type SweepRequest = Omit<Partial<Schemas['SweepRequest']>, 'base' | 'grid'> & {
  base: BacktestRequest;
  grid: Record<string, Scalar[]>;
  objective: string;
};

export type SweepRow = Record<string, Scalar | null>;

export interface WalkForwardWindow {
  train_start?: string;
  train_end?: string;
  test_start?: string;
  test_end?: string;
  in_sample?: number | null;
  out_of_sample?: number | null;
  [key: string]: unknown;
}

export type Account = AccountOut;

export type OrderType = 'market' | 'limit' | 'stop';
export type Side = 'buy' | 'sell';

export type OrderRequest = Schemas['NewOrder'];

export type Order = OrderOut;

export interface Position {
  symbol: string;
  quantity: number;
  avg_price?: number;
  market_price?: number | null;
  mark?: number | null;
  market_value?: number | null;
  unrealized_pnl?: number | null;
  [key: string]: unknown;
}

export interface Fill {
  id?: string;
  order_id: string;
  symbol: string;
  side: Side;
  quantity: number;
  price: number;
  fee?: number;
  ts?: string;
  feed_ts?: number | string;
  [key: string]: unknown;
}

export interface Portfolio {
  cash: number;
  equity: number;
  realized_pnl?: number;
  unrealized_pnl?: number;
  positions?: Position[];
  as_of?: string;
  [key: string]: unknown;
}

export interface Quote {
  symbol: string;
  bid: number;
  ask: number;
  ts?: string;
}
