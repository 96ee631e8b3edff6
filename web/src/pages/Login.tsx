import { useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { ApiClient, ApiError } from '../api/client';
import { useAuth } from '../auth';

export function LoginPage() {
  const { login } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Paste your API key (from `tickforge users create NAME`).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await new ApiClient(trimmed).checkKey();
      login(trimmed);
      const from = (location.state as { from?: string } | null)?.from;
      navigate(from && from !== '/login' ? from : '/data', { replace: true });
    } catch (exc) {
      setError(loginError(exc));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="login">
      <h1>Log in</h1>
      <form onSubmit={submit} noValidate>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          autoFocus
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={Boolean(error)}
          aria-describedby={error ? 'login-error' : undefined}
        />
        <p className="muted">Kept in this tab's session storage only; closing the tab forgets it.</p>
        {error && (
          <p className="field-error" id="login-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
      </form>
    </section>
  );
}

function loginError(exc: unknown): string {
  if (exc instanceof ApiError && (exc.status === 401 || exc.status === 403)) {
    return 'That API key was not accepted. Check it and paste it again.';
  }
  return exc instanceof Error ? exc.message : String(exc);
}
