// Typed client of the tickforge REST API: Bearer key, problem+json errors, paginated lists.
import {
  problemField,
  toBars,
  toBarsPage,
  toEquity,
  toJob,
  toPage,
  toRows,
  toStrategies,
} from './normalize';
import type {
  Account,
  BacktestRequest,
  Bar,
  BarsPage,
  Dataset,
  EquityPoint,
  Fill,
  Job,
  Order,
  OrderRequest,
  Page,
  Portfolio,
  Position,
  Problem,
  Strategy,
  SweepRequest,
  SymbolInfo,
  Trade,
} from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly field: string | undefined;

  constructor(status: number, problem: Problem) {
    super(problemMessage(status, problem));
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.field = problemField(problem);
  }
}

function problemMessage(status: number, problem: Problem): string {
  if (status === 401) return 'The API key was not accepted. Paste a valid key.';
  const text = problem.detail ?? problem.title ?? `HTTP ${status}`;
  if (typeof text === 'string') return text;
  return JSON.stringify(text);
}

export interface BarsQuery {
  symbol: string;
  timeframe: string;
  start?: string;
  end?: string;
  limit: number;
  maxPoints?: number;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function readProblem(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null) {
      const p = body as Problem & { detail?: unknown };
      if (Array.isArray(p.detail)) {
        return { ...p, detail: p.detail.map((e: { msg?: string }) => e.msg).join('; '), errors: p.detail };
      }
      return p;
    }
  } catch {
    // not JSON
  }
  return { detail: text || response.statusText };
}

export class ApiClient {
  readonly base: string;
  readonly key: string;

  constructor(key: string, base = '') {
    this.key = key;
    this.base = base;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.key}`, Accept: 'application/json', ...extra };
  }

  url(path: string, query?: Query): string {
    return `${this.base}${path}${queryString(query)}`;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const init: RequestInit = { method, headers: this.headers() };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = this.headers({ 'Content-Type': 'application/json' });
    }
    let response: Response;
    try {
      response = await fetch(this.url(path, query), init);
    } catch (exc) {
      throw new ApiError(0, { detail: `Cannot reach the API: ${(exc as Error).message}` });
    }
    if (!response.ok) throw new ApiError(response.status, await readProblem(response));
    if (response.status === 204) return undefined as T;
    const type = response.headers.get('content-type') ?? '';
    return (type.includes('json') ? await response.json() : await response.text()) as T;
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  del<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async page<T>(path: string, limit = 50, offset = 0, query: Query = {}): Promise<Page<T>> {
    const payload = await this.get(path, { ...query, limit, offset });
    return toPage<T>(payload, limit, offset);
  }

  /** Every item of a paginated list (up to maxItems): first page, then the rest 4 at a time. */
  async all<T>(path: string, query: Query = {}, pageSize = 500, maxItems = 20000): Promise<T[]> {
    const first = await this.page<T>(path, pageSize, 0, query);
    const items = [...first.items];
    if (first.total === null || first.items.length < pageSize) return items;
    const offsets: number[] = [];
    for (let o = pageSize; o < Math.min(first.total, maxItems); o += pageSize) offsets.push(o);
    for (let i = 0; i < offsets.length; i += 4) {
      const pages = await Promise.all(
        offsets.slice(i, i + 4).map((o) => this.page<T>(path, pageSize, o, query)),
      );
      for (const page of pages) items.push(...page.items);
    }
    return items;
  }

  // ------------------------------------------------------------------ auth, data
  /** A cheap authenticated call: resolves when the key is accepted, else ApiError 401/403. */
  checkKey(): Promise<unknown> {
    return this.get('/v1/backtests', { limit: 1 });
  }

  datasets(): Promise<Dataset[]> {
    return this.get('/v1/datasets').then((p) => toRows(p, ['datasets']) as unknown as Dataset[]);
  }

  symbols(): Promise<SymbolInfo[]> {
    return this.get('/v1/symbols').then((p) => toRows(p, ['symbols']) as unknown as SymbolInfo[]);
  }

  /** Raw bars of `timeframe` (at most `limit`, from `start`), never downsampled. */
  bars(symbol: string, timeframe: string, start?: string, end?: string, limit = 2000): Promise<Bar[]> {
    return this.get('/v1/bars', { symbol, timeframe, start, end, limit, max_points: 0 }).then(toBars);
  }

  /** Bars of `timeframe` in [start, end): aggregated by the server to a coarser width when the
   * range holds more than `maxPoints` (0: never); the answer names the effective width. */
  barsPage(q: BarsQuery): Promise<BarsPage> {
    const { symbol, timeframe, start, end, limit, maxPoints = 0 } = q;
    return this.get('/v1/bars', { symbol, timeframe, start, end, limit, max_points: maxPoints }).then((p) =>
      toBarsPage(p, timeframe),
    );
  }

  strategies(): Promise<Strategy[]> {
    return this.get('/v1/strategies').then(toStrategies);
  }

  // ------------------------------------------------------------------ jobs
  submit(kind: JobKind, body: BacktestRequest | SweepRequest | Record<string, unknown>): Promise<Job> {
    return this.post(`/v1/${kind}`, body).then(toJob);
  }

  job(kind: JobKind, id: string): Promise<Job> {
    return this.get(`/v1/${kind}/${id}`).then(toJob);
  }

  async jobs(kind: JobKind, limit = 50, offset = 0): Promise<Page<Job>> {
    const page = await this.page<unknown>(`/v1/${kind}`, limit, offset);
    return { ...page, items: page.items.map(toJob) };
  }

  async allJobs(kind: JobKind, max = 1000): Promise<Job[]> {
    const rows = await this.all<unknown>(`/v1/${kind}`, {}, 200, max);
    return rows.map(toJob);
  }

  cancel(kind: JobKind, id: string): Promise<unknown> {
    return this.del(`/v1/${kind}/${id}`);
  }

  trades(id: string): Promise<Trade[]> {
    return this.all<Trade>(`/v1/backtests/${id}/trades`);
  }

  equity(kind: JobKind, id: string): Promise<EquityPoint[]> {
    return this.all<unknown>(`/v1/${kind}/${id}/equity`).then(toEquity);
  }

  table<T = Record<string, unknown>>(kind: JobKind, id: string, name: string): Promise<T[]> {
    return this.all<T>(`/v1/${kind}/${id}/${name}`);
  }

  /** The HTML report as a blob: URL (the report route needs the Bearer header). */
  async reportBlobUrl(kind: JobKind, id: string): Promise<string> {
    const html = await this.request<string>('GET', `/v1/${kind}/${id}/report`);
    return URL.createObjectURL(new Blob([html], { type: 'text/html' }));
  }

  // ------------------------------------------------------------------ paper trading
  accounts(): Promise<Account[]> {
    return this.all<Account>('/v1/accounts');
  }

  createAccount(name: string, cash: number, currency: string): Promise<Account> {
    return this.post('/v1/accounts', { name, cash, currency });
  }

  placeOrder(account: string, order: OrderRequest): Promise<Order> {
    return this.post(`/v1/accounts/${account}/orders`, order);
  }

  orders(account: string, query: Query = {}): Promise<Order[]> {
    return this.all<Order>(`/v1/accounts/${account}/orders`, query);
  }

  cancelOrder(account: string, orderId: string): Promise<unknown> {
    return this.del(`/v1/accounts/${account}/orders/${orderId}`);
  }

  positions(account: string): Promise<Position[]> {
    return this.get(`/v1/accounts/${account}/positions`).then(
      (p) => toRows(p, ['positions']) as unknown as Position[],
    );
  }

  fills(account: string): Promise<Fill[]> {
    return this.all<Fill>(`/v1/accounts/${account}/fills`);
  }

  portfolio(account: string): Promise<Portfolio> {
    return this.get(`/v1/accounts/${account}/portfolio`);
  }
}

export type JobKind = 'backtests' | 'sweeps' | 'walkforwards';
