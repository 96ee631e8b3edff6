import { render, screen } from '@testing-library/react';
import { expect, it } from 'vitest';
import { buildHeatmap, Heatmap } from './Heatmap';

const rows = [
  { fast: 5, slow: 20, other: 1, sharpe: 0.5 },
  { fast: 5, slow: 20, other: 2, sharpe: 0.9 },
  { fast: 10, slow: 20, other: 1, sharpe: -0.2 },
  { fast: 5, slow: 40, other: 1, sharpe: null },
];

it('keeps the best objective per cell and leaves empty cells null', () => {
  const h = buildHeatmap(rows, 'fast', 'slow', 'sharpe');
  expect(h.xs).toEqual([5, 10]);
  expect(h.ys).toEqual([20, 40]);
  expect(h.cells).toEqual([[0.9, -0.2], [null, null]]);
  expect([h.min, h.max]).toEqual([-0.2, 0.9]);
  expect(buildHeatmap(rows, 'fast', 'slow', 'sharpe', false).cells[0][0]).toBe(0.5);
});

it('draws one cell per pair with a readable title', () => {
  render(<Heatmap data={buildHeatmap(rows, 'fast', 'slow', 'sharpe')} x="fast" y="slow" objective="sharpe" />);
  const svg = screen.getByTestId('heatmap');
  expect(svg.querySelectorAll('rect')).toHaveLength(4);
  expect(svg.textContent).toContain('fast=5, slow=20: sharpe 0.900');
});
