import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach, vi } from 'vitest';

// jsdom has no canvas: lightweight-charts (third-party) is replaced by a recorder.
vi.mock('lightweight-charts', async () => (await import('./fakeCharts')).module);

afterEach(() => {
  cleanup();
  sessionStorage.clear();
  vi.unstubAllGlobals();
});
