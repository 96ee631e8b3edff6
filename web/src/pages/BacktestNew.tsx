import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { ApiError } from '../api/client';
import { useApi } from '../auth';
import { BaseFields, baseRequest, emptyBase, formField, loadFormData, validateBase, type BaseValues } from '../components/JobForm';
import { ParamForm } from '../components/ParamForm';
import { ErrorBox, Loading } from '../components/Status';
import { useAsync } from '../hooks';
import { defaultRaw, parseParams, type RawValues } from '../params';

export default function BacktestNewPage() {
  const api = useApi();
  const navigate = useNavigate();
  const form = useAsync(() => loadFormData(api), [api]);
  const [base, setBase] = useState<BaseValues>(emptyBase);
  const [raw, setRaw] = useState<RawValues>({});
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [submitError, setSubmitError] = useState<string>();
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const data = form.data;
    if (!data) return;
    setBase((b) => ({ ...b, strategy: b.strategy || data.strategies[0]?.name || '', symbol: b.symbol || data.symbols[0] || '' }));
  }, [form.data]);
  const strategy = form.data?.strategies.find((s) => s.name === base.strategy);
  const specs = useMemo(() => strategy?.params ?? [], [strategy]);
  useEffect(() => setRaw(defaultRaw(specs)), [specs]);

  const parsed = parseParams(specs, raw);
  const baseErrors = validateBase(base);
  const show = (errs: Record<string, string>) => (touched ? errs : {});
  const paramErrors = { ...parsed.errors, ...pick(serverErrors, 'param:') };
  const fieldErrors = { ...baseErrors, ...serverErrors };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    setSubmitError(undefined);
    if (!parsed.ok || Object.keys(baseErrors).length) return;
    setBusy(true);
    try {
      const job = await api.submit('backtests', { ...baseRequest(base), params: parsed.values });
      navigate(`/backtests/${job.id}`);
    } catch (exc) {
      const field = exc instanceof ApiError ? formField(exc.field) : undefined;
      if (field) setServerErrors({ [field]: (exc as Error).message });
      setSubmitError((exc as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const edit = (name: keyof BaseValues, value: string) => {
    setServerErrors({});
    setBase((b) => ({ ...b, [name]: value }));
  };
  const editParam = (name: string, value: string) => {
    setServerErrors({});
    setTouched(true);
    setRaw((r) => ({ ...r, [name]: value }));
  };

  return (
    <section>
      <h1>New backtest</h1>
      {form.loading && <Loading what="Loading strategies and symbols" />}
      {form.error && <ErrorBox error={form.error} onRetry={form.reload} />}
      {form.data && (
        <form onSubmit={submit} noValidate aria-label="backtest">
          <BaseFields values={base} errors={show(fieldErrors)} strategies={form.data.strategies} symbols={form.data.symbols} onChange={edit} />
          {strategy?.description && <p className="muted">{strategy.description}</p>}
          <ParamForm specs={specs} values={raw} errors={paramErrors} onChange={editParam} />
          {submitError && <ErrorBox error={submitError} />}
          <button type="submit" disabled={busy}>
            {busy ? 'Submitting…' : 'Run backtest'}
          </button>
        </form>
      )}
    </section>
  );
}

function pick(errors: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(errors)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}
