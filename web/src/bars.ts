// Loads bars around what the chart shows: an initial window, then more on either side as you pan.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient } from './api/client';
import { sortUnique } from './api/normalize';
import type { Bar } from './api/types';
import { isoSeconds, timeframeSeconds } from './format';

export const WINDOW = 1500;

export function mergeBars(a: Bar[], b: Bar[]): Bar[] {
  return sortUnique([...a, ...b]);
}

interface State {
  bars: Bar[];
  loading: boolean;
  error?: Error;
}

export function useBarWindow(api: ApiClient, symbol: string | undefined, timeframe: string, start?: string | null) {
  const [state, setState] = useState<State>({ bars: [], loading: false });
  const busy = useRef(false);
  const done = useRef({ earlier: false, later: false });
  const key = `${symbol}|${timeframe}`;
  const current = useRef(key);
  current.current = key;

  useEffect(() => {
    if (!symbol) return;
    done.current = { earlier: false, later: false };
    setState({ bars: [], loading: true });
    api.bars(symbol, timeframe, start ?? undefined, undefined, WINDOW).then(
      (bars) => {
        if (current.current !== key) return;
        done.current.earlier = !start;
        done.current.later = bars.length < WINDOW;
        setState({ bars, loading: false });
      },
      (error: Error) => current.current === key && setState({ bars: [], loading: false, error }),
    );
  }, [api, symbol, timeframe, start, key]);

  const extend = useCallback(
    async (side: 'earlier' | 'later', edge: number) => {
      if (!symbol || busy.current || done.current[side]) return;
      busy.current = true;
      try {
        const fresh = await fetchSide(api, symbol, timeframe, side, edge);
        if (current.current !== key) return;
        if (fresh.length === 0) done.current[side] = true;
        else setState((s) => ({ ...s, bars: mergeBars(s.bars, fresh) }));
      } catch (error) {
        setState((s) => ({ ...s, error: error as Error }));
      } finally {
        busy.current = false;
      }
    },
    [api, symbol, timeframe, key],
  );

  return { ...state, loadEarlier: (t: number) => extend('earlier', t), loadLater: (t: number) => extend('later', t) };
}

/** Bars strictly before or after `edge`; looking further back across gaps (weekends). */
export async function fetchSide(
  api: ApiClient,
  symbol: string,
  timeframe: string,
  side: 'earlier' | 'later',
  edge: number,
): Promise<Bar[]> {
  if (side === 'later') {
    const more = await api.bars(symbol, timeframe, isoSeconds(edge + 1), undefined, WINDOW);
    return more.filter((b) => b.time > edge);
  }
  const step = timeframeSeconds(timeframe);
  for (const k of [1, 4, 16]) {
    const more = await api.bars(symbol, timeframe, isoSeconds(edge - k * WINDOW * step), isoSeconds(edge), WINDOW);
    const fresh = more.filter((b) => b.time < edge);
    if (fresh.length > 0) return fresh;
  }
  return [];
}
