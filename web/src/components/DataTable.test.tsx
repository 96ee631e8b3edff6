import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { expect, it } from 'vitest';
import { DataTable } from './DataTable';

const rows = [{ name: 'b', n: 10 }, { name: 'a', n: 2 }, { name: 'c', n: 33 }];
const columns = [{ key: 'name', label: 'Name' }, { key: 'n', label: 'N', numeric: true }];
const bodyText = () => within(screen.getAllByRole('rowgroup')[1]).getAllByRole('row').map((r) => r.textContent);

it('sorts numerically by a clicked header and reverses on a second click', async () => {
  render(<DataTable rows={rows} columns={columns} />);
  await userEvent.click(screen.getByRole('button', { name: 'N' }));
  expect(bodyText()).toEqual(['a2', 'b10', 'c33']);
  expect(screen.getAllByRole('columnheader')[1]).toHaveAttribute('aria-sort', 'ascending');
  await userEvent.click(screen.getByRole('button', { name: 'N ▲' }));
  expect(bodyText()).toEqual(['c33', 'b10', 'a2']);
});

it('pages, with the keyboard too', async () => {
  render(<DataTable rows={rows} columns={columns} pageSize={2} />);
  expect(bodyText()).toEqual(['b10', 'a2']);
  expect(screen.getByText(/Page 1 of 2/)).toBeInTheDocument();
  screen.getByRole('button', { name: 'Next' }).focus();
  await userEvent.keyboard('{Enter}');
  expect(bodyText()).toEqual(['c33']);
  expect(screen.getByRole('button', { name: 'Next' })).toBeDisabled();
});
