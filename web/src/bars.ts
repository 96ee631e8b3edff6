// The bars a chart holds: a bounded window around what it shows. Zoomed in, raw bars paged in
// WINDOW steps as you pan; zoomed out past one bar per pixel, a window re-fetched around the
// view (three views wide) and downsampled by the server (OHLCV aggregated) to about half a bar
// per pixel shown.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient } from './api/client';
import type { Bar } from './api/types';
import { isoSeconds, timeframeSeconds } from './format';

/** Raw bars per fetch when panning. */
export const WINDOW = 1500;
/** Raw bars held at most; past it the far side is dropped in WINDOW-sized steps. */
export const HELD_MAX = 3 * WINDOW;
/** A downsampled view zoomed in past this many pixels per bar asks for finer bars. */
export const FINE_PX = 8;
/** Bars asked for per pixel of chart width when re-windowing (the window is three views wide,
 * so about half a bar per pixel shown), and the bounds of that count. */
export const BARS_PER_PX = 1.5;
export const MIN_POINTS = 300;
export const MAX_POINTS = 4000;

/** What the chart shows: a time range (epoch s, extrapolated past the held bars) and its width. */
export interface View {
  from: number;
  to: number;
  width: number;
}

/** The extent of the series in the lake (epoch s), when known. */
export interface Limits {
  start?: number;
  end?: number;
}

export interface Span {
  start: number;
  end: number;
}

export interface Held {
  bars: Bar[];
  /** Effective width of the held bars (coarser than asked when downsampled). */
  timeframe: string;
  downsampled: boolean;
  /** Time range [start, end) the window is complete over (the last re-window), else null. */
  span: Span | null;
  /** Keep the visible time range when the chart takes these bars (false: a new series). */
  keep: boolean;
  /** Set when asking for finer bars gave the same width: the view length it was asked at. */
  stuck?: number;
}

/** A window re-fetched around the view (`finer`: to zoom in on a downsampled one). */
export interface WindowPlan {
  kind: 'window';
  start: number;
  end: number;
  maxPoints: number;
  finer?: boolean;
}

export type Plan = WindowPlan | { kind: 'earlier' | 'later'; edge: number } | null;

export interface Done {
  earlier: boolean;
  later: boolean;
}

/** Index of the first bar with time >= t (bars ascending). */
export function lowerBound(bars: Bar[], t: number): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid].time < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many bars lie in [from, to]. */
export function countIn(bars: Bar[], from: number, to: number): number {
  return Math.max(0, lowerBound(bars, to + 1e-6) - lowerBound(bars, from));
}

/** Average spacing of the bars in seconds (1 for fewer than two bars). */
export function stepOf(bars: Bar[]): number {
  const n = bars.length;
  return n < 2 ? 1 : Math.max((bars[n - 1].time - bars[0].time) / (n - 1), 1e-3);
}

/** Time at a chart logical index (bar index, fractional), extrapolated beyond the ends. */
export function timeAt(bars: Bar[], logical: number): number {
  const last = bars.length - 1;
  if (logical <= 0) return bars[0].time + logical * stepOf(bars);
  if (logical >= last) return bars[last].time + (logical - last) * stepOf(bars);
  const i = Math.floor(logical);
  return bars[i].time + (logical - i) * (bars[i + 1].time - bars[i].time);
}

/** Chart logical index of a time: the inverse of timeAt. */
export function logicalAt(bars: Bar[], t: number): number {
  const last = bars.length - 1;
  if (t <= bars[0].time) return (t - bars[0].time) / stepOf(bars);
  if (t >= bars[last].time) return last + (t - bars[last].time) / stepOf(bars);
  const i = lowerBound(bars, t) - 1; // bars[i].time < t <= bars[i + 1].time
  return i + (t - bars[i].time) / (bars[i + 1].time - bars[i].time);
}

/** Bars to ask for over a re-window for a chart `width` pixels wide. */
export const pointsFor = (width: number): number =>
  Math.round(Math.min(MAX_POINTS, Math.max(MIN_POINTS, BARS_PER_PX * width)));

/** Three views wide around the view, within the series' extent, aligned to whole hours or
 * days so the server's buckets at the window's edges are whole. */
export function windowAround(view: View, limits: Limits): WindowPlan {
  const len = Math.max(view.to - view.from, 1);
  const mid = (view.from + view.to) / 2;
  let start = Math.max(mid - 1.5 * len, limits.start ?? -Infinity);
  let end = Math.min(mid + 1.5 * len, limits.end === undefined ? Infinity : limits.end + 1);
  const maxPoints = pointsFor(view.width);
  const unit = (end - start) / maxPoints <= 3600 ? 3600 : 86400;
  start = Math.floor(start / unit) * unit;
  end = Math.ceil(end / unit) * unit;
  return { kind: 'window', start, end, maxPoints };
}

/** The held bars cover the window (give or take a quarter of the view) and are no more than
 * the server would answer with: asking again would give the same bars. */
function covers(held: Held, plan: WindowPlan, view: View): boolean {
  const span = held.span;
  if (!span || held.bars.length > plan.maxPoints) return false;
  const slack = (view.to - view.from) / 4;
  return span.start <= plan.start + slack && span.end >= plan.end - slack;
}

/** A downsampled view within half a view of its window's edge, where the series goes on. */
function nearSpanEdge(span: Span | null, view: View, limits: Limits): boolean {
  if (!span) return false;
  const margin = (view.to - view.from) / 2;
  const left = view.from - margin < span.start && span.start > (limits.start ?? -Infinity);
  const right = view.to + margin >= span.end && span.end <= (limits.end ?? Infinity);
  return left || right;
}

/** Raw bars within half a view of the held edge, where the series goes on: page in more. */
function rawEdge(bars: Bar[], view: View, limits: Limits, done: Done): Plan {
  const margin = (view.to - view.from) / 2;
  const first = bars[0].time;
  const last = bars[bars.length - 1].time;
  const earlier = !done.earlier && first > (limits.start ?? -Infinity);
  if (earlier && view.from - margin < first) return { kind: 'earlier', edge: first };
  const later = !done.later && last < (limits.end ?? Infinity);
  if (later && view.to + margin > last) return { kind: 'later', edge: last };
  return null;
}

/** What to fetch, if anything, for the chart to show `view` from the `held` window. */
export function planFetch(held: Held, view: View, limits: Limits, done: Done): Plan {
  if (held.bars.length === 0 || !(view.to > view.from)) return null;
  const shown = countIn(held.bars, view.from, view.to);
  const width = Math.max(view.width, 1);
  if (shown > width) {
    // more bars than pixels: a coarser window, unless the held one already spans the view
    const plan = windowAround(view, limits);
    return covers(held, plan, view) ? (held.downsampled ? null : rawEdge(held.bars, view, limits, done)) : plan;
  }
  if (!held.downsampled) return rawEdge(held.bars, view, limits, done);
  const len = view.to - view.from;
  if (shown < width / FINE_PX && !(held.stuck && len > held.stuck / 2)) return { ...windowAround(view, limits), finer: true };
  return nearSpanEdge(held.span, view, limits) ? windowAround(view, limits) : null;
}

/** The range raw bars are complete over: the first to just after the last bar. */
export function rawSpan(bars: Bar[]): Span | null {
  return bars.length ? { start: bars[0].time, end: bars[bars.length - 1].time + 1 } : null;
}

/** Raw bars added after the held ones; the oldest dropped in a large step past HELD_MAX. */
export function withLater(held: Held, fresh: Bar[]): Held {
  const all = held.bars.concat(fresh);
  const drop = all.length > HELD_MAX ? all.length - (HELD_MAX - WINDOW) : 0;
  const bars = drop ? all.slice(drop) : all;
  const start = drop || !held.span ? bars[0].time : held.span.start;
  return { ...held, bars, span: { start, end: bars[bars.length - 1].time + 1 }, keep: true };
}

/** Raw bars added before the held ones; the newest dropped in a large step past HELD_MAX. */
export function withEarlier(held: Held, fresh: Bar[]): Held {
  const all = fresh.concat(held.bars);
  const bars = all.length > HELD_MAX ? all.slice(0, HELD_MAX - WINDOW) : all;
  const end = bars.length < all.length || !held.span ? bars[bars.length - 1].time + 1 : held.span.end;
  return { ...held, bars, span: { start: bars[0].time, end }, keep: true };
}

/** Seconds per bar of a timeframe name, else the smallest spacing of the held bars. */
function barSeconds(timeframe: string, bars: Bar[]): number {
  try {
    return timeframeSeconds(timeframe);
  } catch {
    let step = Infinity;
    for (let i = 1; i < bars.length; i += 1) step = Math.min(step, bars[i].time - bars[i - 1].time);
    return Number.isFinite(step) && step > 0 ? step : 1;
  }
}

/** Raw bars strictly before or after `edge`; looking further back across gaps (weekends). */
export async function fetchSide(
  api: ApiClient,
  symbol: string,
  timeframe: string,
  side: 'earlier' | 'later',
  edge: number,
  step = timeframeSeconds(timeframe),
): Promise<Bar[]> {
  if (side === 'later') {
    const more = await api.bars(symbol, timeframe, isoSeconds(edge + 1), undefined, WINDOW);
    return more.filter((b) => b.time > edge);
  }
  for (const k of [1, 4, 16]) {
    const more = await api.bars(symbol, timeframe, isoSeconds(edge - k * WINDOW * step), isoSeconds(edge), WINDOW);
    const fresh = more.filter((b) => b.time < edge);
    if (fresh.length > 0) return fresh;
  }
  return [];
}

export interface BarWindow extends Held {
  loading: boolean;
  fetching: boolean;
  error?: Error;
}

const EMPTY: Held = { bars: [], timeframe: '', downsampled: false, span: null, keep: false };

interface Source {
  api: ApiClient;
  symbol: string;
  timeframe: string;
}

/** Fetch what a plan asks for and return the new window (and which side, if any, ran out). */
async function fetchPlan(src: Source, plan: NonNullable<Plan>, held: Held): Promise<{ next: Held; ended?: keyof Done }> {
  const { api, symbol, timeframe } = src;
  if (plan.kind === 'window') {
    const page = await api.barsPage({
      symbol,
      timeframe,
      start: isoSeconds(plan.start),
      end: isoSeconds(plan.end),
      limit: plan.maxPoints,
      maxPoints: plan.maxPoints,
    });
    const span = { start: plan.start, end: plan.end };
    const same = plan.finer && page.downsampled && page.timeframe === held.timeframe;
    const stuck = same ? (plan.end - plan.start) / 3 : undefined; // no finer bars at this zoom
    return { next: { bars: page.bars, timeframe: page.timeframe, downsampled: page.downsampled, span, keep: true, stuck } };
  }
  const fresh = await fetchSide(api, symbol, timeframe, plan.kind, plan.edge, barSeconds(timeframe, held.bars));
  if (fresh.length === 0) return { next: held, ended: plan.kind };
  return { next: plan.kind === 'later' ? withLater(held, fresh) : withEarlier(held, fresh) };
}

/** Which sides may still have bars after moving from `held` to `next`. */
function doneAfter(done: Done, plan: NonNullable<Plan>, held: Held, next: Held, ended?: keyof Done): Done {
  if (ended) return { ...done, [ended]: true };
  if (plan.kind === 'window') return { earlier: false, later: false };
  const last = (bars: Bar[]) => bars[bars.length - 1].time;
  if (plan.kind === 'later') return { earlier: done.earlier && next.bars[0].time === held.bars[0].time, later: false };
  return { earlier: false, later: done.later && last(next.bars) === last(held.bars) };
}

/** Counts fetches for the same view; true past MAX_REPEATS (a safety net against a loop of
 * answers that never satisfy the plan). */
function repeated(last: { from: number; to: number; n: number }, v: View): boolean {
  const same = Math.abs(v.from - last.from) < 1 && Math.abs(v.to - last.to) < 1;
  last.n = same ? last.n + 1 : 1;
  last.from = v.from;
  last.to = v.to;
  return last.n > MAX_REPEATS;
}

export const MAX_REPEATS = 4;

/** The chart's bars for a symbol and timeframe: an initial raw window from `start`, then
 * whatever `onView` (called by the chart as it pans and zooms) asks for. */
export function useBarWindow(
  api: ApiClient,
  symbol: string | undefined,
  timeframe: string,
  start?: string | null,
  limits: Limits = {},
) {
  const [state, setState] = useState<BarWindow>({ ...EMPTY, loading: false, fetching: false });
  const held = useRef<Held>(EMPTY);
  const busy = useRef(false);
  const failed = useRef(false);
  const done = useRef<Done>({ earlier: false, later: false });
  const view = useRef<View | null>(null);
  const repeats = useRef({ from: NaN, to: NaN, n: 0 }); // fetches for one unchanged view
  const bounds = useRef(limits);
  bounds.current = limits;
  const key = `${symbol}|${timeframe}|${start ?? ''}`;
  const current = useRef(key);
  current.current = key;

  useEffect(() => {
    if (!symbol) return;
    held.current = { ...EMPTY, timeframe };
    view.current = null;
    failed.current = false;
    done.current = { earlier: false, later: false };
    setState({ ...held.current, loading: true, fetching: false });
    api.bars(symbol, timeframe, start ?? undefined, undefined, WINDOW).then(
      (bars) => {
        if (current.current !== key) return;
        done.current = { earlier: !start, later: bars.length < WINDOW };
        held.current = { ...EMPTY, bars, timeframe, span: rawSpan(bars) };
        setState({ ...held.current, loading: false, fetching: false });
      },
      (error: Error) => current.current === key && setState({ ...EMPTY, timeframe, loading: false, fetching: false, error }),
    );
  }, [api, symbol, timeframe, start, key]);

  const follow = useRef<(v: View) => void>(() => undefined);
  const run = useCallback(
    async (plan: NonNullable<Plan>) => {
      if (!symbol) return;
      busy.current = true;
      setState((s) => ({ ...s, fetching: true }));
      try {
        const before = held.current;
        const { next, ended } = await fetchPlan({ api, symbol, timeframe }, plan, before);
        if (current.current === key) {
          done.current = doneAfter(done.current, plan, before, next, ended);
          held.current = next;
        }
        setState((s) => (current.current === key ? { ...next, loading: false, fetching: false } : { ...s, fetching: false }));
      } catch (error) {
        if (current.current === key) failed.current = true; // shown; no retry on every pan event
        setState((s) => ({ ...s, fetching: false, error: current.current === key ? (error as Error) : s.error }));
      } finally {
        busy.current = false;
      }
      if (view.current && !failed.current) follow.current(view.current); // the view may have moved on
    },
    [api, symbol, timeframe, key],
  );

  const onView = useCallback(
    (v: View) => {
      view.current = v;
      if (busy.current || failed.current) return;
      const plan = planFetch(held.current, v, bounds.current, done.current);
      if (plan && !repeated(repeats.current, v)) void run(plan);
    },
    [run],
  );
  follow.current = onView;

  return { ...state, onView };
}
