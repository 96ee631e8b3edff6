// The chart's bar window: time <-> logical index, what to fetch for a view, bounded paging.
import { describe, expect, it } from 'vitest';
import type { Bar } from './api/types';
import {
  countIn,
  HELD_MAX,
  logicalAt,
  MAX_POINTS,
  planFetch,
  pointsFor,
  rawSpan,
  timeAt,
  WINDOW,
  withEarlier,
  withLater,
  type Held,
} from './bars';

const T0 = 1704067200; // 2024-01-01 00:00 UTC
const bar = (time: number): Bar => ({ time, open: 1, high: 2, low: 0.5, close: 1.5, volume: 3 });
/** `n` bars every `step` seconds from `t0`. */
const run = (n: number, step = 60, t0 = T0): Bar[] => Array.from({ length: n }, (_, i) => bar(t0 + i * step));
const raw = (bars: Bar[]): Held => ({ bars, timeframe: '1min', downsampled: false, span: rawSpan(bars), keep: true });
const open = { earlier: false, later: false };

describe('time and logical index', () => {
  const bars = [bar(100), bar(160), bar(400)]; // uneven spacing, average 150 s

  it('interpolates between bars and extrapolates past the ends', () => {
    expect(timeAt(bars, 1)).toBe(160);
    expect(timeAt(bars, 1.5)).toBe(280);
    expect(timeAt(bars, -2)).toBe(-200);
    expect(timeAt(bars, 4)).toBe(700);
  });

  it('maps times back to the same logical index', () => {
    for (const logical of [-3.5, 0, 0.25, 1, 1.75, 2, 6]) expect(logicalAt(bars, timeAt(bars, logical))).toBeCloseTo(logical, 9);
  });

  it('counts the bars within a time range, ends included', () => {
    expect(countIn(bars, 100, 160)).toBe(2);
    expect(countIn(bars, 101, 399)).toBe(1);
    expect(countIn(bars, 500, 900)).toBe(0);
  });
});

describe('planFetch', () => {
  const held = raw(run(1500)); // 1500 one-minute bars
  const first = held.bars[0].time;
  const last = held.bars[1499].time;

  it('pages raw bars in on the side the view comes near', () => {
    const mid = { from: first + 600 * 60, to: first + 800 * 60, width: 1000 };
    expect(planFetch(held, mid, {}, open)).toBeNull();
    expect(planFetch(held, { ...mid, from: first + 50 * 60 }, {}, open)).toEqual({ kind: 'earlier', edge: first });
    expect(planFetch(held, { from: last - 150 * 60, to: last, width: 1000 }, {}, open)).toEqual({ kind: 'later', edge: last });
    expect(planFetch(held, { from: last - 150 * 60, to: last, width: 1000 }, {}, { earlier: false, later: true })).toBeNull();
  });

  it('asks for a downsampled window three views wide when the view holds more bars than pixels', () => {
    const view = { from: first, to: last, width: 1000 }; // 1500 bars on 1000 px
    const plan = planFetch(held, view, {}, open);
    expect(plan).toMatchObject({ kind: 'window', maxPoints: pointsFor(1000) });
    if (plan?.kind !== 'window') throw new Error('no window');
    const len = last - first;
    expect(plan.start).toBeLessThanOrEqual(first - len);
    expect(plan.end).toBeGreaterThanOrEqual(last + len);
    expect(plan.start % 3600).toBe(0); // whole buckets at the window's edges
    expect(plan.end % 3600).toBe(0);
    // raw bars spanning three views already, but more than the server would send: coarser
    const many = raw(run(3 * 1500, 60, first - 1500 * 60));
    expect(planFetch(many, view, {}, open)).toMatchObject({ kind: 'window' });
  });

  it('keeps the window within the series and stops asking once it spans the view', () => {
    const view = { from: first, to: last, width: 1000 }; // 1500 bars on 1000 px
    expect(planFetch(held, view, { start: first, end: last }, open)).toBeNull(); // holds the whole series
    const limits = { start: first, end: last + 30 * 86400 };
    const plan = planFetch(held, view, limits, open);
    if (plan?.kind !== 'window') throw new Error('no window');
    expect(plan.start).toBe(first); // not before the series (T0 is a whole hour)
    expect(plan.end).toBeGreaterThanOrEqual(last + (last - first));
    // the server answered with coarser bars over the whole window: nothing more to ask
    const answered: Held = { ...held, downsampled: true, span: { start: plan.start, end: plan.end } };
    expect(planFetch(answered, view, limits, open)).toBeNull();
  });

  it('asks for finer bars when a downsampled view is zoomed in, and pans it near its edge', () => {
    const hours = run(2000, 3600); // hourly aggregates of minute bars
    const span = { start: hours[0].time, end: hours[1999].time + 3600 };
    const coarse: Held = { bars: hours, timeframe: '1h', downsampled: true, span, keep: true };
    const at = (i: number) => hours[i].time;
    expect(planFetch(coarse, { from: at(800), to: at(1200), width: 1000 }, {}, open)).toBeNull();
    expect(planFetch(coarse, { from: at(900), to: at(950), width: 1000 }, {}, open)).toMatchObject({ kind: 'window' });
    expect(planFetch(coarse, { from: at(1500), to: at(1900), width: 1000 }, {}, open)).toMatchObject({ kind: 'window' });
    const limits = { start: span.start, end: at(1999) }; // nothing beyond: nothing to ask for
    expect(planFetch(coarse, { from: at(1500), to: at(1999), width: 1000 }, limits, open)).toBeNull();
  });

  it('stops asking for finer bars at a zoom where the server had none', () => {
    const hours = run(100, 3600);
    const span = { start: hours[0].time, end: hours[99].time + 3600 };
    const stuck: Held = { bars: hours, timeframe: '1h', downsampled: true, span, keep: true, stuck: 30 * 3600 };
    const view = (n: number) => ({ from: hours[40].time, to: hours[40 + n].time, width: 1000 });
    expect(planFetch(stuck, view(20), {}, open)).toBeNull();
    expect(planFetch(stuck, view(5), {}, open)).toMatchObject({ kind: 'window', finer: true }); // zoomed in further
  });

  it('bounds the points asked for by the chart width', () => {
    expect(pointsFor(1000)).toBe(1500);
    expect(pointsFor(10)).toBeGreaterThan(10);
    expect(pointsFor(1e6)).toBe(MAX_POINTS);
  });
});

describe('bounded raw window', () => {
  it('appends later bars and drops the oldest in one large step past HELD_MAX', () => {
    let held = raw(run(WINDOW));
    held = withLater(held, run(WINDOW, 60, T0 + WINDOW * 60));
    held = withLater(held, run(WINDOW, 60, T0 + 2 * WINDOW * 60));
    expect(held.bars).toHaveLength(HELD_MAX);
    expect(held.span).toEqual({ start: T0, end: T0 + (HELD_MAX - 1) * 60 + 1 });
    held = withLater(held, run(WINDOW, 60, T0 + 3 * WINDOW * 60));
    expect(held.bars).toHaveLength(HELD_MAX - WINDOW);
    expect(held.bars[0].time).toBe(T0 + 2 * WINDOW * 60);
    expect(held.span?.start).toBe(held.bars[0].time);
    expect(held.bars.at(-1)?.time).toBe(T0 + (4 * WINDOW - 1) * 60);
  });

  it('prepends earlier bars and drops the newest past HELD_MAX', () => {
    let held = raw(run(HELD_MAX, 60, T0 + WINDOW * 60));
    held = withEarlier(held, run(WINDOW));
    expect(held.bars).toHaveLength(HELD_MAX - WINDOW);
    expect(held.bars[0].time).toBe(T0);
    expect(held.span).toEqual({ start: T0, end: held.bars.at(-1)!.time + 1 });
  });
});
