import { useEffect, useState } from 'react';
import type { JobKind } from './api/client';
import { isFinished } from './api/normalize';
import type { Job } from './api/types';
import { useApi } from './auth';
import { useInterval } from './hooks';

/** A job, polled every `ms` until it has finished. */
export function useJob(kind: JobKind, id: string, ms = 700) {
  const api = useApi();
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<Error>();
  const refresh = () =>
    api.job(kind, id).then(
      (j) => {
        setJob(j);
        setError(undefined);
      },
      (e: Error) => setError(e),
    );
  useEffect(() => {
    setJob(undefined);
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, kind, id]);
  const done = Boolean(job && isFinished(job.status)) || Boolean(error && !job);
  useInterval(() => void refresh(), ms, !done);
  return { job, error, refresh };
}

/** Symbol list of a job's config (BacktestConfig, or a sweep's base). */
export function jobSymbols(job: Job): string[] {
  const cfg = (job.config ?? {}) as Record<string, unknown>;
  const base = (cfg.base ?? (cfg.sweep as Record<string, unknown> | undefined)?.base ?? cfg) as Record<string, unknown>;
  return Array.isArray(base.symbols) ? (base.symbols as string[]) : [];
}

export function jobConfig(job: Job): Record<string, unknown> {
  return (job.config ?? {}) as Record<string, unknown>;
}
