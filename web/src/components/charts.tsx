// Financial charts on TradingView Lightweight Charts™ (Apache-2.0).
// NOTICE: TradingView Lightweight Charts™ Copyright (c) 2025 TradingView, Inc. https://www.tradingview.com/
// The attribution logo stays on (layout.attributionLogo) and the footer links to TradingView.
import {
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  LineSeries,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type LogicalRange,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useCallback, useEffect, useRef } from 'react';
import type { Bar } from '../api/types';
import { logicalAt, timeAt, type View } from '../bars';

export interface LinePoint {
  time: number;
  value: number;
}

export interface LineSpec {
  name: string;
  color: string;
  points: LinePoint[];
}

export interface Marker {
  time: number;
  side: 'buy' | 'sell';
  text?: string;
}

const ts = (t: number) => t as UTCTimestamp;

function baseOptions(height: number) {
  return {
    height,
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: 'transparent' },
      textColor: '#4b5563',
      attributionLogo: true,
    },
    grid: { vertLines: { color: '#eef0f3' }, horzLines: { color: '#eef0f3' } },
    timeScale: { timeVisible: true, secondsVisible: false },
  };
}

/** Create the chart on mount; `init` adds series and returns its own cleanup. */
function useChart(height: number, init?: (chart: IChartApi) => () => void) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const setup = useRef(init);
  useEffect(() => {
    if (!box.current) return undefined;
    const c = createChart(box.current, baseOptions(height));
    chart.current = c;
    const undo = setup.current?.(c);
    return () => {
      undo?.();
      c.remove();
      chart.current = null;
    };
  }, [height]);
  return { box, chart };
}

/** Markers for lightweight-charts: buys below the bar, sells above (times must ascend). */
export function toSeriesMarkers(markers: Marker[]): SeriesMarker<Time>[] {
  return [...markers]
    .sort((a, b) => a.time - b.time)
    .map((m) => ({
      time: ts(m.time),
      position: m.side === 'buy' ? 'belowBar' : 'aboveBar',
      shape: m.side === 'buy' ? 'arrowUp' : 'arrowDown',
      color: m.side === 'buy' ? '#15803d' : '#b91c1c',
      text: m.text,
    }));
}

interface CandleProps {
  bars: Bar[];
  markers?: Marker[];
  height?: number;
  label: string;
  /** Keep the visible time range when `bars` changes (a window moved); else a new series. */
  keep?: boolean;
  /** Called with the visible time range and plot width as the user pans and zooms. */
  onView?: (view: View) => void;
}

/** Appending at most this many bars goes through series.update(); more, one setData (each
 * update() recalculates the panes: ~0.3 ms per bar measured, setData of 4,500 bars ~10 ms). */
export const UPDATE_MAX = 16;

const toCandle = (b: Bar) => ({ time: ts(b.time), open: b.open, high: b.high, low: b.low, close: b.close });
const toVolume = (b: Bar) => ({
  time: ts(b.time),
  value: b.volume,
  color: b.close >= b.open ? 'rgba(22,163,74,0.35)' : 'rgba(220,38,38,0.35)',
});

/** How many bars `next` only appends to `prev` (same start, same bars, a few more); else null. */
export function appendedTail(prev: Bar[], next: Bar[]): number | null {
  const added = next.length - prev.length;
  if (prev.length === 0 || added <= 0 || added > UPDATE_MAX) return null;
  const same = next[0].time === prev[0].time && next[prev.length - 1].time === prev[prev.length - 1].time;
  return same ? added : null;
}

interface Series {
  candles: ISeriesApi<'Candlestick'>;
  volume: ISeriesApi<'Histogram'>;
}

function draw(series: Series, prev: Bar[], next: Bar[]) {
  const added = appendedTail(prev, next);
  if (added === null) {
    series.candles.setData(next.map(toCandle));
    series.volume.setData(next.map(toVolume));
    return;
  }
  for (const b of next.slice(next.length - added)) {
    series.candles.update(toCandle(b));
    series.volume.update(toVolume(b));
  }
}

/** The visible time range of a chart holding `bars`, extrapolated past them. */
function viewOf(c: IChartApi, bars: Bar[], range: LogicalRange | null): View | null {
  if (!range || bars.length === 0) return null;
  return { from: timeAt(bars, range.from), to: timeAt(bars, range.to), width: c.timeScale().width() };
}

export function CandleChart(props: CandleProps) {
  const { bars, markers = [], height = 380, label, keep = false } = props;
  const series = useRef<Series | null>(null);
  const marks = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const shown = useRef<Bar[]>([]); // the bars the series hold
  const pending = useRef<{ bars: Bar[]; keep: boolean } | null>(null); // arrived during a drag
  const dragging = useRef(false);
  const applying = useRef(false);
  const onView = useRef(props.onView);
  onView.current = props.onView;

  const { box, chart } = useChart(height, (c) => {
    const candles = c.addSeries(CandlestickSeries, {
      upColor: '#16a34a',
      downColor: '#dc2626',
      wickUpColor: '#16a34a',
      wickDownColor: '#dc2626',
      borderVisible: false,
    });
    const volume = c.addSeries(HistogramSeries, {
      priceScaleId: 'volume',
      priceFormat: { type: 'volume' },
      color: '#94a3b8',
      lastValueVisible: false,
      priceLineVisible: false,
    });
    c.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
    series.current = { candles, volume };
    marks.current = createSeriesMarkers(candles, []);
    const onRange = (range: LogicalRange | null) => {
      const view = applying.current ? null : viewOf(c, shown.current, range);
      if (view) onView.current?.(view);
    };
    c.timeScale().subscribeVisibleLogicalRangeChange(onRange);
    return () => {
      c.timeScale().unsubscribeVisibleLogicalRangeChange(onRange);
      series.current = null;
      marks.current = null;
      shown.current = [];
    };
  });

  /** Hand `next` to the series; keep the visible time range unless it is a new series. */
  const apply = useCallback(
    (next: Bar[], keepRange: boolean) => {
      const c = chart.current;
      if (!c || !series.current) return;
      const prev = shown.current;
      const view = keepRange ? viewOf(c, prev, c.timeScale().getVisibleLogicalRange()) : null;
      applying.current = true;
      try {
        draw(series.current, prev, next);
        shown.current = next;
        if (view && next.length) {
          c.timeScale().setVisibleLogicalRange({ from: logicalAt(next, view.from), to: logicalAt(next, view.to) });
        }
      } finally {
        applying.current = false;
      }
      const now = viewOf(c, next, c.timeScale().getVisibleLogicalRange());
      if (now) onView.current?.(now);
    },
    [chart],
  );

  useEffect(() => {
    // a drag scrolls from where it started, counted from the last bar: new bars now would
    // make the chart jump, so they wait for the pointer to be released
    if (dragging.current) {
      pending.current = { bars, keep: keep && (pending.current?.keep ?? true) };
      return;
    }
    apply(bars, keep);
  }, [bars, keep, apply]);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const down = () => {
      dragging.current = true;
    };
    const up = () => {
      if (!dragging.current) return;
      dragging.current = false;
      const next = pending.current;
      pending.current = null;
      if (next) apply(next.bars, next.keep);
    };
    // capture: the chart's own handlers see the events first otherwise
    el.addEventListener('pointerdown', down, true);
    window.addEventListener('pointerup', up, true);
    window.addEventListener('pointercancel', up, true);
    return () => {
      el.removeEventListener('pointerdown', down, true);
      window.removeEventListener('pointerup', up, true);
      window.removeEventListener('pointercancel', up, true);
    };
  }, [box, apply]);

  useEffect(() => {
    marks.current?.setMarkers(toSeriesMarkers(markers));
  }, [markers]);

  return <div className="chart" ref={box} role="img" aria-label={label} style={{ height }} data-bars={bars.length} />;
}

interface LineProps {
  lines: LineSpec[];
  height?: number;
  label: string;
  percent?: boolean;
}

export function LineChart({ lines, height = 260, label, percent = false }: LineProps) {
  const series = useRef<ISeriesApi<'Line'>[]>([]);
  const { box, chart } = useChart(height, () => () => {
    series.current = [];
  });
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    for (const s of series.current) c.removeSeries(s);
    series.current = lines.map((spec) => {
      const s = c.addSeries(LineSeries, {
        color: spec.color,
        lineWidth: 2,
        title: spec.name,
        priceFormat: percent ? { type: 'percent' } : { type: 'price', precision: 2, minMove: 0.01 },
      });
      s.setData(spec.points.map((p) => ({ time: ts(p.time), value: percent ? p.value * 100 : p.value })));
      return s;
    });
    c.timeScale().fitContent();
  }, [lines, chart, percent]);
  return (
    <div>
      <ul className="legend" aria-label={`${label} legend`}>
        {lines.map((l) => (
          <li key={l.name}>
            <span className="swatch" style={{ background: l.color }} /> {l.name}
          </li>
        ))}
      </ul>
      <div className="chart" ref={box} role="img" aria-label={label} style={{ height }} />
    </div>
  );
}

export const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#db2777', '#0891b2'];
