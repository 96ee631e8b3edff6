import type { SweepRow } from '../api/types';
import { fmtNumber } from '../format';

export interface HeatmapData {
  xs: (string | number)[];
  ys: (string | number)[];
  cells: (number | null)[][]; // [y][x], best value when several rows share (x, y)
  min: number;
  max: number;
}

const key = (v: unknown) => String(v);

function sortedUnique(values: unknown[]): (string | number)[] {
  const unique = [...new Set(values.map(key))];
  const nums = unique.map(Number);
  if (nums.every(Number.isFinite)) return nums.sort((a, b) => a - b);
  return unique.sort();
}

/** Objective over two parameters; other parameters are reduced by taking the best value. */
export function buildHeatmap(rows: SweepRow[], x: string, y: string, objective: string, maximize = true): HeatmapData {
  const xs = sortedUnique(rows.map((r) => r[x]));
  const ys = sortedUnique(rows.map((r) => r[y]));
  const cells: (number | null)[][] = ys.map(() => xs.map(() => null));
  const xi = new Map(xs.map((v, i) => [key(v), i]));
  const yi = new Map(ys.map((v, i) => [key(v), i]));
  let min = Infinity;
  let max = -Infinity;
  for (const row of rows) {
    const v = Number(row[objective]);
    if (row[objective] === null || !Number.isFinite(v)) continue;
    const i = yi.get(key(row[y]));
    const j = xi.get(key(row[x]));
    if (i === undefined || j === undefined) continue;
    const old = cells[i][j];
    cells[i][j] = old === null ? v : maximize ? Math.max(old, v) : Math.min(old, v);
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { xs, ys, cells, min, max };
}

function color(v: number | null, min: number, max: number): string {
  if (v === null) return '#e5e7eb';
  const t = max > min ? (v - min) / (max - min) : 0.5;
  const hue = Math.round(t * 120); // red (low) -> green (high)
  return `hsl(${hue} 70% ${45 + (1 - Math.abs(t - 0.5) * 2) * 10}%)`;
}

export function Heatmap({ data, x, y, objective }: { data: HeatmapData; x: string; y: string; objective: string }) {
  const cell = 36;
  const left = 60;
  const top = 10;
  const width = left + data.xs.length * cell + 10;
  const height = top + data.ys.length * cell + 40;
  return (
    <figure className="heatmap">
      <svg
        width={width}
        height={height}
        role="img"
        aria-label={`heatmap of ${objective} over ${x} and ${y}`}
        data-testid="heatmap"
      >
        {data.ys.map((yv, i) =>
          data.xs.map((xv, j) => {
            const v = data.cells[i][j];
            return (
              <rect
                key={`${i}-${j}`}
                x={left + j * cell}
                y={top + (data.ys.length - 1 - i) * cell}
                width={cell - 2}
                height={cell - 2}
                fill={color(v, data.min, data.max)}
                data-value={v ?? ''}
              >
                <title>{`${x}=${xv}, ${y}=${yv}: ${objective} ${v === null ? 'n/a' : fmtNumber(v, 3)}`}</title>
              </rect>
            );
          }),
        )}
        {data.xs.map((xv, j) => (
          <text key={`x${j}`} x={left + j * cell + cell / 2} y={top + data.ys.length * cell + 14} textAnchor="middle" fontSize="10">
            {String(xv)}
          </text>
        ))}
        {data.ys.map((yv, i) => (
          <text key={`y${i}`} x={left - 6} y={top + (data.ys.length - 1 - i) * cell + cell / 2 + 3} textAnchor="end" fontSize="10">
            {String(yv)}
          </text>
        ))}
        <text x={left + (data.xs.length * cell) / 2} y={height - 6} textAnchor="middle" fontSize="11">
          {x}
        </text>
      </svg>
      <figcaption>
        {objective} by {x} (horizontal) and {y} (vertical); range {fmtNumber(data.min, 3)} to {fmtNumber(data.max, 3)}
      </figcaption>
    </figure>
  );
}
