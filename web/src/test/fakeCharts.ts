// A recording stand-in for lightweight-charts in jsdom: tests read what the app drew, and move
// a chart's visible logical range as a user panning or zooming would.
export interface FakeSeries {
  kind: string;
  data: { time: number }[];
  markers: unknown[];
  /** How many setData() and update() calls the series received. */
  sets: number;
  updates: number;
}

type Range = { from: number; to: number } | null;

export interface FakeChart {
  range: Range;
  width: number;
  /** Move the visible range as the user would: the chart's subscribers hear of it. */
  scroll(range: Range): void;
}

export const drawn: { series: FakeSeries[]; charts: FakeChart[] } = { series: [], charts: [] };

function series(kind: string): FakeSeries & Record<string, unknown> {
  const s: FakeSeries & Record<string, unknown> = {
    kind,
    data: [],
    markers: [],
    sets: 0,
    updates: 0,
    setData(d: { time: number }[]) {
      s.data = d;
      s.sets += 1;
    },
    update(bar: { time: number }) {
      const last = s.data[s.data.length - 1];
      if (last && bar.time < last.time) throw new Error('Cannot update oldest data');
      s.data = last && last.time === bar.time ? [...s.data.slice(0, -1), bar] : [...s.data, bar];
      s.updates += 1;
    },
    priceScale: () => ({ applyOptions() {} }),
    applyOptions() {},
  };
  drawn.series.push(s);
  return s;
}

function chart() {
  const listeners = new Set<(r: Range) => void>();
  const state: FakeChart = {
    range: null,
    width: 1000,
    scroll(range: Range) {
      state.range = range;
      for (const f of listeners) f(range);
    },
  };
  drawn.charts.push(state);
  return {
    addSeries: (def: { kind: string }) => series(def.kind),
    removeSeries() {},
    priceScale: () => ({ applyOptions() {} }),
    timeScale: () => ({
      subscribeVisibleLogicalRangeChange: (f: (r: Range) => void) => listeners.add(f),
      unsubscribeVisibleLogicalRangeChange: (f: (r: Range) => void) => listeners.delete(f),
      getVisibleLogicalRange: () => state.range,
      setVisibleLogicalRange(r: Range) {
        state.range = r;
      },
      width: () => state.width,
      fitContent() {},
    }),
    remove() {},
  };
}

export const module = {
  createChart: chart,
  createSeriesMarkers: (s: FakeSeries) => ({
    setMarkers(m: unknown[]) {
      s.markers = m;
    },
  }),
  CandlestickSeries: { kind: 'candles' },
  HistogramSeries: { kind: 'histogram' },
  LineSeries: { kind: 'line' },
  ColorType: { Solid: 'solid' },
};
