import { expect, it } from 'vitest';
import { parseSse } from './sse';

it('parses complete events and keeps the partial tail', () => {
  const text = 'id: 3\nevent: order_filled\ndata: {"id":1}\n\n: keep-alive\n\nevent: quote\ndata: {"bid":1}\ndata: x\n\nevent: quo';
  const { events, rest } = parseSse(text);
  expect(events).toEqual([
    { event: 'order_filled', data: '{"id":1}', id: '3' },
    { event: 'quote', data: '{"bid":1}\nx' },
  ]);
  expect(rest).toBe('event: quo');
});
