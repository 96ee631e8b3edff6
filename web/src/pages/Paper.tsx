import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { ApiError, type ApiClient } from '../api/client';
import { toEpochSeconds } from '../api/normalize';
import { readStream } from '../api/sse';
import type { Account, Fill, Order, OrderType, Portfolio, Position, Quote, Side } from '../api/types';
import { useApi } from '../auth';
import { LineChart, type LinePoint } from '../components/charts';
import { DataTable, type Column } from '../components/DataTable';
import { Empty, ErrorBox, Loading } from '../components/Status';
import { fmtNumber, fmtPrice, fmtTime } from '../format';
import { useAsync, useInterval } from '../hooks';

export default function PaperPage() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const accounts = useAsync(() => api.accounts(), [api]);
  const list = accounts.data ?? [];
  const selected = params.get('account') ?? (list[0] ? String(list[0].id) : undefined);
  const select = (id: string) => setParams({ account: id });
  return (
    <section>
      <h1>Paper trading</h1>
      {accounts.loading && !accounts.data && <Loading what="Loading accounts" />}
      {accounts.error && <ErrorBox error={accounts.error} onRetry={accounts.reload} />}
      <div className="toolbar">
        {list.length > 0 && (
          <label>
            Account{' '}
            <select value={selected} onChange={(e) => select(e.target.value)}>
              {list.map((a) => (
                <option key={a.id} value={String(a.id)}>
                  {a.name} (#{a.id}, {a.currency})
                </option>
              ))}
            </select>
          </label>
        )}
        <NewAccount
          onCreated={(a) => {
            accounts.reload();
            select(String(a.id));
          }}
        />
      </div>
      {accounts.data && list.length === 0 && <Empty>No paper accounts yet: create one to start trading.</Empty>}
      {selected && <Desk key={selected} accountId={selected} />}
    </section>
  );
}

function NewAccount({ onCreated }: { onCreated: (a: Account) => void }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('paper');
  const [cash, setCash] = useState('100000');
  const [currency, setCurrency] = useState('USD');
  const [error, setError] = useState<string>();
  if (!open) {
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)}>
        New account
      </button>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!(Number(cash) > 0)) return setError('cash must be a number > 0');
    try {
      onCreated(await api.createAccount(name.trim(), Number(cash), currency.trim().toUpperCase()));
      setOpen(false);
    } catch (exc) {
      setError((exc as Error).message);
    }
    return undefined;
  };
  return (
    <form className="toolbar" onSubmit={submit} aria-label="new account">
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Cash <input inputMode="decimal" value={cash} onChange={(e) => setCash(e.target.value)} size={10} />
      </label>
      <label>
        Currency <input value={currency} onChange={(e) => setCurrency(e.target.value)} size={4} />
      </label>
      <button type="submit">Create</button>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}

interface DeskState {
  portfolio?: Portfolio;
  orders: Order[];
  fills: Fill[];
  error?: Error;
}

async function loadDesk(api: ApiClient, id: string): Promise<DeskState> {
  const [portfolio, orders, fills] = await Promise.all([api.portfolio(id), api.orders(id), api.fills(id)]);
  return { portfolio, orders, fills };
}

/** One account: quotes and ticket on the left; portfolio, orders, positions, fills on the right. */
function Desk({ accountId }: { accountId: string }) {
  const api = useApi();
  const feed = useAsync(() => api.get<{ symbols?: string[]; now?: string }>('/v1/feed'), [api]);
  const symbols = useMemo(() => feed.data?.symbols ?? [], [feed.data]);
  const [desk, setDesk] = useState<DeskState>({ orders: [], fills: [] });
  const [equity, setEquity] = useState<LinePoint[]>([]);
  const refresh = useCallback(async () => {
    try {
      const next = await loadDesk(api, accountId);
      setDesk(next);
      if (next.portfolio) setEquity((pts) => appendPoint(pts, next.portfolio as Portfolio));
    } catch (error) {
      setDesk((d) => ({ ...d, error: error as Error }));
    }
  }, [api, accountId]);
  useEffect(() => void refresh(), [refresh]);
  const { quotes, live } = useLiveStream(api, accountId, symbols, refresh);
  useInterval(() => void refresh(), live ? 5000 : 2000, true);
  const cancel = async (order: Order) => {
    try {
      await api.cancelOrder(accountId, String(order.id));
    } catch (error) {
      setDesk((d) => ({ ...d, error: error as Error }));
    }
    void refresh();
  };
  const open = desk.orders.filter((o) => o.status === 'open' || o.status === 'triggered');
  return (
    <div className="paper-grid">
      <div>
        <h2>Quotes</h2>
        <p className="muted" aria-live="polite">
          {live ? 'Live stream connected' : 'Stream not connected: polling'}
          {latestQuoteTime(quotes, feed.data?.now)}
        </p>
        {feed.error && <ErrorBox error={feed.error} onRetry={feed.reload} />}
        <dl className="quotes" aria-label="quotes">
          {symbols.map((s) => (
            <div className="card" key={s} data-symbol={s}>
              <dt>{s}</dt>
              <dd>
                {fmtPrice(quotes[s]?.bid)} / {fmtPrice(quotes[s]?.ask)}
              </dd>
            </div>
          ))}
        </dl>
        <h2>Order ticket</h2>
        <OrderTicket accountId={accountId} symbols={symbols} onPlaced={() => void refresh()} />
      </div>
      <div>
        {desk.error && <ErrorBox error={desk.error} onRetry={() => void refresh()} />}
        <h2>Portfolio</h2>
        {desk.portfolio ? <PortfolioCards p={desk.portfolio} /> : <Loading what="Loading portfolio" />}
        <LineChart lines={[{ name: 'equity', color: '#2563eb', points: equity }]} label="live equity" height={200} />
        <h2>Positions</h2>
        <DataTable rows={desk.portfolio?.positions ?? []} columns={POSITION_COLUMNS} caption="Positions" rowKey={(p) => p.symbol} />
        <h2>Open orders</h2>
        <DataTable rows={open} columns={orderColumns(cancel)} caption="Open orders" rowKey={(o) => String(o.id)} />
        <h2>Fills</h2>
        <DataTable rows={[...desk.fills].reverse()} columns={FILL_COLUMNS} caption="Fills blotter" rowKey={(f) => String(f.id)} />
      </div>
    </div>
  );
}

function latestQuoteTime(quotes: Record<string, Quote>, fallback?: string): string {
  const times = Object.values(quotes).map((q) => q.ts).filter((t): t is string => Boolean(t)).sort();
  const t = times[times.length - 1] ?? fallback;
  return t ? ` · feed time ${fmtTime(t)}` : '';
}

/** Equity points at distinct feed times (as_of), keeping the last 2,000. */
export function appendPoint(points: LinePoint[], p: Portfolio): LinePoint[] {
  const asOf = typeof p.as_of === 'string' ? p.as_of : undefined;
  const time = asOf ? toEpochSeconds(asOf) : Math.floor(Date.now() / 1000);
  const point = { time, value: Number(p.equity) };
  const last = points[points.length - 1];
  if (last && time < last.time) return points;
  const next = last && last.time === time ? [...points.slice(0, -1), point] : [...points, point];
  return next.slice(-2000);
}

function useLiveStream(api: ApiClient, accountId: string, symbols: string[], onAccountEvent: () => void) {
  const [quotes, setQuotes] = useState<Record<string, Quote>>({});
  const [live, setLive] = useState(false);
  const handler = useRef(onAccountEvent);
  handler.current = onAccountEvent;
  const key = symbols.join(',');
  useEffect(() => {
    const abort = new AbortController();
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          setLive(true);
          await readStream(api, `/v1/accounts/${accountId}/stream`, { symbols: key, interval: 1 }, (e) => {
            if (e.event === 'quote') {
              const q = JSON.parse(e.data) as Quote;
              setQuotes((qs) => ({ ...qs, [q.symbol]: q }));
            } else handler.current();
          }, abort.signal);
        } catch {
          // fall back to polling and retry the stream shortly
        }
        if (abort.signal.aborted) return; // a newer stream owns the `live` flag now
        setLive(false);
        await new Promise((r) => setTimeout(r, 3000));
      }
    };
    void run();
    return () => abort.abort();
  }, [api, accountId, key]);
  return { quotes, live };
}

function PortfolioCards({ p }: { p: Portfolio }) {
  const items: [string, unknown][] = [
    ['cash', p.cash],
    ['equity', p.equity],
    ['realised P&L', p.realized_pnl],
    ['unrealised P&L', p.unrealized_pnl],
  ];
  return (
    <dl className="cards" aria-label="portfolio">
      {items.map(([k, v]) => (
        <div className="card" key={k}>
          <dt>{k}</dt>
          <dd>{fmtNumber(v, 2)}</dd>
        </div>
      ))}
    </dl>
  );
}

const POSITION_COLUMNS: Column<Position>[] = [
  { key: 'symbol', label: 'Symbol' },
  { key: 'quantity', label: 'Quantity', numeric: true, render: (p) => fmtNumber(p.quantity) },
  { key: 'avg_price', label: 'Avg price', numeric: true, render: (p) => fmtPrice(p.avg_price) },
  { key: 'mark', label: 'Mark', numeric: true, render: (p) => fmtPrice(p.mark ?? p.market_price) },
  { key: 'unrealized_pnl', label: 'Unrealised', numeric: true, render: (p) => fmtNumber(p.unrealized_pnl, 2) },
];

const FILL_COLUMNS: Column<Fill>[] = [
  { key: 'id', label: 'Fill', numeric: true },
  { key: 'order_id', label: 'Order', numeric: true },
  { key: 'symbol', label: 'Symbol' },
  { key: 'side', label: 'Side' },
  { key: 'quantity', label: 'Quantity', numeric: true, render: (f) => fmtNumber(f.quantity) },
  { key: 'price', label: 'Price', numeric: true, render: (f) => fmtPrice(f.price) },
  { key: 'fee', label: 'Fee', numeric: true, render: (f) => fmtNumber(f.fee, 2) },
  { key: 'feed_ts', label: 'Time', render: (f) => fmtTime(typeof f.feed_ts === 'number' ? toEpochSeconds(f.feed_ts) : f.feed_ts ?? f.ts) },
];

function orderColumns(cancel: (o: Order) => void): Column<Order>[] {
  return [
    { key: 'id', label: 'Order', numeric: true },
    { key: 'symbol', label: 'Symbol' },
    { key: 'side', label: 'Side' },
    { key: 'type', label: 'Type' },
    { key: 'quantity', label: 'Quantity', numeric: true, render: (o) => fmtNumber(o.quantity) },
    { key: 'price', label: 'Price', numeric: true, render: (o) => fmtPrice(o.limit_price ?? o.stop_price) },
    { key: 'status', label: 'Status' },
    {
      key: 'cancel',
      label: 'Cancel',
      render: (o) => (
        <button type="button" className="secondary" onClick={() => cancel(o)} aria-label={`cancel order ${o.id}`}>
          Cancel
        </button>
      ),
    },
  ];
}

interface Ticket {
  symbol: string;
  side: Side;
  quantity: string;
  type: OrderType;
  price: string;
}

/** Client-side checks before the server's risk checks. */
export function ticketErrors(t: Ticket): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!t.symbol) errors.symbol = 'choose a symbol';
  if (!(Number(t.quantity) > 0)) errors.quantity = 'must be a number > 0';
  if (t.type !== 'market' && !(Number(t.price) > 0)) errors.price = `a ${t.type} order needs a price > 0`;
  return errors;
}

function ticketField(field: string | undefined): string {
  if (field === 'limit_price' || field === 'stop_price') return 'price';
  return field && ['symbol', 'quantity', 'side', 'type'].includes(field) ? field : 'form';
}

function OrderTicket({ accountId, symbols, onPlaced }: { accountId: string; symbols: string[]; onPlaced: () => void }) {
  const api = useApi();
  const [t, setT] = useState<Ticket>({ symbol: '', side: 'buy', quantity: '1000', type: 'market', price: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [placed, setPlaced] = useState<string>();
  const [busy, setBusy] = useState(false);
  const symbol = t.symbol || symbols[0] || '';
  const edit = (k: keyof Ticket, v: string) => {
    setT((x) => ({ ...x, [k]: v }));
    setErrors({});
    setPlaced(undefined);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ticket = { ...t, symbol };
    const local = ticketErrors(ticket);
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const price = Number(ticket.price);
      const order = await api.placeOrder(accountId, {
        client_order_id: `ui-${crypto.randomUUID()}`,
        symbol,
        side: ticket.side,
        quantity: Number(ticket.quantity),
        type: ticket.type,
        ...(ticket.type === 'limit' ? { limit_price: price } : {}),
        ...(ticket.type === 'stop' ? { stop_price: price } : {}),
      });
      setPlaced(`Order #${order.id} ${order.status}${order.avg_fill_price ? ` at ${fmtPrice(order.avg_fill_price)}` : ''}`);
      onPlaced();
    } catch (exc) {
      const field = exc instanceof ApiError ? ticketField(exc.field) : 'form';
      setErrors({ [field]: (exc as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const err = (k: string) =>
    errors[k] ? (
      <span className="field-error" role="alert" id={`t-${k}-error`}>
        {errors[k]}
      </span>
    ) : null;
  const invalid = (k: string) => (errors[k] ? { 'aria-invalid': true, 'aria-describedby': `t-${k}-error` } : {});
  return (
    <form className="panel" onSubmit={submit} aria-label="order ticket" noValidate>
      <div className="field">
        <label htmlFor="t-symbol">Symbol</label>
        <select id="t-symbol" value={symbol} onChange={(e) => edit('symbol', e.target.value)} {...invalid('symbol')}>
          {symbols.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        {err('symbol')}
      </div>
      <div role="radiogroup" aria-label="side" className="segmented">
        {(['buy', 'sell'] as const).map((s) => (
          <button key={s} type="button" role="radio" aria-checked={t.side === s} className={t.side === s ? 'active' : undefined} onClick={() => edit('side', s)}>
            {s}
          </button>
        ))}
      </div>
      <div className="field">
        <label htmlFor="t-quantity">Quantity</label>
        <input id="t-quantity" inputMode="decimal" value={t.quantity} onChange={(e) => edit('quantity', e.target.value)} {...invalid('quantity')} />
        {err('quantity')}
      </div>
      <div className="field">
        <label htmlFor="t-type">Type</label>
        <select id="t-type" value={t.type} onChange={(e) => edit('type', e.target.value)}>
          <option value="market">market</option>
          <option value="limit">limit</option>
          <option value="stop">stop</option>
        </select>
      </div>
      {t.type !== 'market' && (
        <div className="field">
          <label htmlFor="t-price">{t.type === 'limit' ? 'Limit price' : 'Stop price'}</label>
          <input id="t-price" inputMode="decimal" value={t.price} onChange={(e) => edit('price', e.target.value)} {...invalid('price')} />
          {err('price')}
        </div>
      )}
      {err('form')}
      {placed && (
        <p className="pos" role="status">
          {placed}
        </p>
      )}
      <button type="submit" disabled={busy || !symbol}>
        {busy ? 'Placing…' : `Place ${t.side} order`}
      </button>
    </form>
  );
}
