// First-load JavaScript of the built app (dist/): the entry script and the chunks index.html
// preloads, gzipped (level 9). Exits 1 above the 500 KB budget. Usage: npm run size
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET = 500 * 1024;
const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const first = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const firstLoad = first.reduce((sum, f) => sum + gz(f), 0);
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const total = all.reduce((sum, f) => sum + gz(`assets/${f}`), 0);
console.log(`first load: ${first.length} file(s), ${kb(firstLoad)} gzipped (budget ${kb(BUDGET)})`);
console.log(`all chunks: ${all.length} files, ${kb(total)} gzipped (pages load on demand)`);
console.log(JSON.stringify({ first_load_js_gzip_bytes: firstLoad, all_js_gzip_bytes: total }));
if (firstLoad > BUDGET) process.exit(1);
