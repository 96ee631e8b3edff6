// A tiny in-memory HTTP stand-in for the API at the fetch boundary (routes by method + path).
import { vi } from 'vitest';

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  auth: string | null;
}

type Reply = { status?: number; body?: unknown; type?: string };
type Handler = (call: Call) => Reply | unknown;

export function problem(status: number, detail: string, field?: string): Reply {
  return { status, body: { type: 'about:blank', title: 'Error', status, detail, field }, type: 'application/problem+json' };
}

const isReply = (r: unknown): r is Reply =>
  typeof r === 'object' && r !== null && ('status' in r || 'type' in r) && 'body' in r;

export function serve(routes: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const url = new URL(input, 'http://test');
      const method = init.method ?? 'GET';
      const headers = (init.headers ?? {}) as Record<string, string>;
      const call: Call = {
        method,
        path: url.pathname,
        query: url.searchParams,
        body: init.body ? JSON.parse(String(init.body)) : undefined,
        auth: headers.Authorization ?? null,
      };
      calls.push(call);
      const handler = routes[`${method} ${url.pathname}`];
      if (!handler) return new Response(JSON.stringify(problem(404, `no route ${method} ${url.pathname}`).body), { status: 404 });
      const out = handler(call);
      const reply: Reply = isReply(out) ? out : { body: out };
      const type = reply.type ?? 'application/json';
      const text = type.includes('json') ? JSON.stringify(reply.body) : String(reply.body);
      return new Response(text, { status: reply.status ?? 200, headers: { 'content-type': type } });
    }),
  );
  return calls;
}
