// A recording stand-in for lightweight-charts in jsdom: tests read what the app drew.
export interface FakeSeries {
  kind: string;
  data: unknown[];
  markers: unknown[];
}

export const drawn: { series: FakeSeries[] } = { series: [] };

function series(kind: string): FakeSeries & Record<string, unknown> {
  const s: FakeSeries & Record<string, unknown> = {
    kind,
    data: [],
    markers: [],
    setData(d: unknown[]) {
      s.data = d;
    },
    priceScale: () => ({ applyOptions() {} }),
    applyOptions() {},
  };
  drawn.series.push(s);
  return s;
}

function chart() {
  return {
    addSeries: (def: { kind: string }) => series(def.kind),
    removeSeries() {},
    priceScale: () => ({ applyOptions() {} }),
    timeScale: () => ({
      subscribeVisibleLogicalRangeChange() {},
      unsubscribeVisibleLogicalRangeChange() {},
      getVisibleLogicalRange: () => null,
      setVisibleLogicalRange() {},
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
