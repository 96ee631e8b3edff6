import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { expect, it } from 'vitest';
import { problem, serve } from '../test/server';
import { renderPage } from '../test/render';
import { LoginPage } from './Login';

const routes = {
  'GET /v1/backtests': (c: { auth: string | null }) =>
    c.auth === 'Bearer good-key' ? { items: [], total: 0, limit: 1, offset: 0 } : problem(401, 'invalid API key'),
};

it('shows a clear message for a bad key and stores nothing', async () => {
  serve(routes);
  renderPage(<LoginPage />, '/login', '/login', null);
  await userEvent.type(screen.getByLabelText('API key'), 'bad-key');
  await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
  expect(await screen.findByRole('alert')).toHaveTextContent('That API key was not accepted');
  expect(sessionStorage.getItem('tickforge.apiKey')).toBeNull();
});

it('keeps a good key in session storage and goes to the data page', async () => {
  const calls = serve(routes);
  renderPage(<LoginPage />, '/login', '/login', null);
  await userEvent.type(screen.getByLabelText('API key'), ' good-key {Enter}');
  expect(await screen.findByTestId('where')).toHaveTextContent('/data');
  expect(sessionStorage.getItem('tickforge.apiKey')).toBe('good-key');
  expect(calls[0].auth).toBe('Bearer good-key');
});

it('asks for a key when the field is empty', async () => {
  serve(routes);
  renderPage(<LoginPage />, '/login', '/login', null);
  await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
  expect(screen.getByRole('alert')).toHaveTextContent('Paste your API key');
});
