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
import { useEffect, useRef } from 'react';
import type { Bar } from '../api/types';

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
  /** Called with the earliest loaded time when the user pans near the left edge. */
  onNeedEarlier?: (earliest: number) => void;
  /** Called with the latest loaded time when the user pans near the right edge. */
  onNeedLater?: (latest: number) => void;
}

export function CandleChart(props: CandleProps) {
  const { bars, markers = [], height = 380, label } = props;
  const candles = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const volume = useRef<ISeriesApi<'Histogram'> | null>(null);
  const marks = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const first = useRef<number | null>(null);
  const last = useRef<{ time: number; count: number } | null>(null);
  const need = useRef(props);
  need.current = props;

  const { box, chart } = useChart(height, (c) => {
    candles.current = c.addSeries(CandlestickSeries, {
      upColor: '#16a34a',
      downColor: '#dc2626',
      wickUpColor: '#16a34a',
      wickDownColor: '#dc2626',
      borderVisible: false,
    });
    volume.current = c.addSeries(HistogramSeries, {
      priceScaleId: 'volume',
      priceFormat: { type: 'volume' },
      color: '#94a3b8',
      lastValueVisible: false,
      priceLineVisible: false,
    });
    c.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.current.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
    marks.current = createSeriesMarkers(candles.current, []);
    const onRange = (range: LogicalRange | null) => {
      if (!range) return;
      if (range.from < 10 && first.current !== null) need.current.onNeedEarlier?.(first.current);
      const end = last.current;
      if (end && range.to > end.count - 10) need.current.onNeedLater?.(end.time);
    };
    c.timeScale().subscribeVisibleLogicalRangeChange(onRange);
    return () => {
      c.timeScale().unsubscribeVisibleLogicalRangeChange(onRange);
      candles.current = null;
      volume.current = null;
      marks.current = null;
      first.current = null;
    };
  });

  useEffect(() => {
    const c = chart.current;
    if (!c || !candles.current || !volume.current) return;
    const prepended = countPrepended(first.current, bars);
    const range = c.timeScale().getVisibleLogicalRange();
    candles.current.setData(bars.map((b) => ({ ...b, time: ts(b.time) })));
    volume.current.setData(
      bars.map((b) => ({
        time: ts(b.time),
        value: b.volume,
        color: b.close >= b.open ? 'rgba(22,163,74,0.35)' : 'rgba(220,38,38,0.35)',
      })),
    );
    if (prepended > 0 && range) {
      c.timeScale().setVisibleLogicalRange({ from: range.from + prepended, to: range.to + prepended });
    }
    first.current = bars.length ? bars[0].time : null;
    last.current = bars.length ? { time: bars[bars.length - 1].time, count: bars.length } : null;
  }, [bars, chart]);

  useEffect(() => {
    marks.current?.setMarkers(toSeriesMarkers(markers));
  }, [markers]);

  return <div className="chart" ref={box} role="img" aria-label={label} style={{ height }} />;
}

/** How many bars were added before the previously first bar. */
export function countPrepended(previousFirst: number | null, bars: Bar[]): number {
  if (previousFirst === null) return 0;
  let n = 0;
  while (n < bars.length && bars[n].time < previousFirst) n += 1;
  return n;
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
