import type { ReactNode } from 'react';
import type { JobStatus } from '../api/types';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: Error | string; onRetry?: () => void }) {
  const text = typeof error === 'string' ? error : error.message;
  return (
    <div className="error" role="alert">
      <span>{text}</span>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function ProgressBar({ value, status }: { value: number; status: JobStatus }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div className="progress-row">
      <progress max={100} value={pct} aria-label={`progress ${pct}%`} />
      <span className={`badge ${status}`}>{status}</span>
      <span>{pct}%</span>
    </div>
  );
}

export function StatusBadge({ status }: { status: JobStatus }) {
  return <span className={`badge ${status}`}>{status}</span>;
}
