// The candle chart hands bars to lightweight-charts (a recorder here): whole windows with
// setData keeping the visible time range, a few new bars with update(), nothing mid-drag.
import { fireEvent, render } from '@testing-library/react';
import { expect, it, vi } from 'vitest';
import type { Bar } from '../api/types';
import { drawn } from '../test/fakeCharts';
import { appendedTail, CandleChart, UPDATE_MAX } from './charts';

const T0 = 1704067200;
const run = (n: number, step = 60, t0 = T0): Bar[] =>
  Array.from({ length: n }, (_, i) => ({ time: t0 + i * step, open: 1, high: 2, low: 0.5, close: i % 2 ? 1.5 : 0.8, volume: i }));

function mount(bars: Bar[], onView = vi.fn()) {
  const view = render(<CandleChart bars={bars} keep={false} onView={onView} label="chart" />);
  const chart = drawn.charts.at(-1)!;
  const [candles, volume] = drawn.series.slice(-2);
  const redraw = (next: Bar[]) => view.rerender(<CandleChart bars={next} keep onView={onView} label="chart" />);
  return { view, chart, candles, volume, redraw, onView };
}

it('draws candles and volume coloured by direction', () => {
  const { candles, volume } = mount(run(3));
  expect(candles.data.map((d) => d.time)).toEqual([T0, T0 + 60, T0 + 120]);
  expect(volume.data[0]).toMatchObject({ value: 0, color: 'rgba(220,38,38,0.35)' });
  expect(volume.data[1]).toMatchObject({ value: 1, color: 'rgba(22,163,74,0.35)' });
});

it('keeps the visible time range when a coarser window replaces the bars', () => {
  const { chart, candles, redraw, onView } = mount(run(600)); // minutes
  chart.scroll({ from: 120, to: 240 }); // 02:00 to 04:00
  expect(onView).toHaveBeenLastCalledWith({ from: T0 + 7200, to: T0 + 14400, width: 1000 });
  redraw(run(48, 300, T0 - 3600)); // five-minute bars from 23:00
  expect(candles.sets).toBe(2);
  expect(chart.range?.from).toBeCloseTo(36, 9); // 02:00 is the 36th five-minute bar
  expect(chart.range?.to).toBeCloseTo(60, 9);
  expect(onView).toHaveBeenLastCalledWith({ from: T0 + 7200, to: T0 + 14400, width: 1000 });
});

it('appends a few new bars with update() and a window with setData()', () => {
  const { chart, candles, redraw } = mount(run(100));
  chart.scroll({ from: 50, to: 99 });
  redraw(run(103));
  expect(candles.updates).toBe(3);
  expect(candles.sets).toBe(1);
  expect(candles.data).toHaveLength(103);
  redraw(run(103 + UPDATE_MAX + 1));
  expect(candles.sets).toBe(2);
  expect(appendedTail(run(5), run(5, 60, T0 + 60))).toBeNull(); // slid, not appended
});

it('holds bars that arrive during a drag until the pointer is released', () => {
  const { view, chart, candles, redraw } = mount(run(100));
  chart.scroll({ from: 10, to: 60 });
  const box = view.getByRole('img', { name: 'chart' });
  fireEvent.pointerDown(box);
  redraw(run(200, 60, T0 - 100 * 60)); // 100 earlier bars
  expect(candles.data).toHaveLength(100);
  fireEvent.pointerUp(window);
  expect(candles.data).toHaveLength(200);
  expect(chart.range).toEqual({ from: 110, to: 160 }); // the same bars still in view
});
