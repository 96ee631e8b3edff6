// Server-sent events over fetch (EventSource cannot send the Authorization header).
import { ApiError, type ApiClient, type Query } from './client';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Split a text/event-stream buffer into complete events and the unfinished rest. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const blocks = buffer.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  const events: SseEvent[] = [];
  for (const block of blocks) {
    const ev: SseEvent = { event: 'message', data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i === -1 ? line : line.slice(0, i);
      const value = i === -1 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') ev.event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') ev.id = value;
    }
    if (data.length) events.push({ ...ev, data: data.join('\n') });
  }
  return { events, rest };
}

/** Read an SSE endpoint until `signal` aborts or the server closes; resolves then. */
export async function readStream(
  api: ApiClient,
  path: string,
  query: Query,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(api.url(path, query), {
    headers: api.headers({ Accept: 'text/event-stream' }),
    signal,
  });
  if (!response.ok || !response.body) throw new ApiError(response.status, { detail: `stream failed (HTTP ${response.status})` });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const parsed = parseSse(buffer + value);
    buffer = parsed.rest;
    parsed.events.forEach(onEvent);
  }
}
