import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { expect, it } from 'vitest';
import { problem, serve, type Call } from '../test/server';
import { renderPage } from '../test/render';
import BacktestNewPage from './BacktestNew';

const strategies = {
  strategies: [
    { name: 'buy_and_hold', params: {} },
    {
      name: 'sma_cross',
      description: 'Moving-average crossover',
      params: { type: 'object', properties: { fast: { type: 'integer', minimum: 2, maximum: 200, default: 10 }, slow: { type: 'integer', minimum: 5, maximum: 1000, default: 50 } } },
    },
  ],
};

function routes(post: (c: Call) => unknown) {
  return {
    'GET /v1/strategies': () => strategies,
    'GET /v1/symbols': (c: Call) => ({ dataset: c.query.get('dataset'), symbols: ['EURUSD', 'USDJPY'] }),
    'POST /v1/backtests': post,
  };
}

async function chooseSma() {
  await userEvent.selectOptions(await screen.findByLabelText('Strategy'), 'sma_cross');
  return screen.findByLabelText(/^fast/);
}

it('generates the form from the schema and validates inline', async () => {
  serve(routes(() => ({ status: 202, body: { id: 1, status: 'queued' } })));
  renderPage(<BacktestNewPage />, '/backtests/new');
  const fast = await chooseSma();
  expect(fast).toHaveValue('10');
  expect(screen.getByLabelText(/^slow/)).toHaveValue('50');
  await userEvent.clear(fast);
  await userEvent.type(fast, '1');
  expect(screen.getByRole('alert')).toHaveTextContent('fast: must be ≥ 2');
  expect(fast).toHaveAttribute('aria-invalid', 'true');
  await userEvent.type(fast, '.5');
  expect(screen.getByRole('alert')).toHaveTextContent('fast: must be a whole number');
});

it('submits typed params and goes to the run page', async () => {
  const calls = serve(routes(() => ({ status: 202, body: { id: 42, status: 'queued' } })));
  renderPage(<BacktestNewPage />, '/backtests/new');
  const fast = await chooseSma();
  await userEvent.clear(fast);
  await userEvent.type(fast, '12');
  await userEvent.selectOptions(screen.getByLabelText('Symbol'), 'USDJPY');
  await userEvent.selectOptions(screen.getByLabelText('Timeframe'), '1min');
  await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }));
  expect(await screen.findByTestId('where')).toHaveTextContent('/backtests/42');
  const post = calls.find((c) => c.method === 'POST');
  expect(post?.body).toEqual({ strategy: 'sma_cross', symbols: ['USDJPY'], timeframe: '1min', cash: 100000, params: { fast: 12, slow: 50 } });
});

it('shows the server problem next to the field it names', async () => {
  serve(routes(() => problem(422, 'slow must exceed fast', 'params.slow')));
  renderPage(<BacktestNewPage />, '/backtests/new');
  await chooseSma();
  await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }));
  await waitFor(() => expect(screen.getByLabelText(/^slow/)).toHaveAttribute('aria-invalid', 'true'));
  expect(screen.getAllByRole('alert').map((a) => a.textContent)).toContain('slow: slow must exceed fast');
});
