import type { ParamSpec } from '../api/types';
import type { RawValues } from '../params';

interface Props {
  specs: ParamSpec[];
  values: RawValues;
  errors: Record<string, string>;
  onChange: (name: string, value: string) => void;
  idPrefix?: string;
}

/** Inputs generated from a strategy's parameter schema; errors shown next to each field. */
export function ParamForm({ specs, values, errors, onChange, idPrefix = 'param' }: Props) {
  if (specs.length === 0) return <p className="muted">This strategy has no parameters.</p>;
  return (
    <fieldset className="params">
      <legend>Parameters</legend>
      {specs.map((spec) => {
        const id = `${idPrefix}-${spec.name}`;
        const error = errors[spec.name];
        return (
          <div className="field" key={spec.name}>
            <label htmlFor={id}>
              {spec.name}
              {rangeHint(spec)}
            </label>
            {renderInput(spec, id, values[spec.name] ?? '', onChange, Boolean(error))}
            {spec.description && <small className="muted">{spec.description}</small>}
            {error && (
              <span className="field-error" id={`${id}-error`} role="alert">
                {spec.name}: {error}
              </span>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}

function rangeHint(spec: ParamSpec): string {
  if (spec.minimum === undefined && spec.maximum === undefined) return '';
  return ` (${spec.minimum ?? '…'} – ${spec.maximum ?? '…'})`;
}

function renderInput(
  spec: ParamSpec,
  id: string,
  value: string,
  onChange: (name: string, value: string) => void,
  invalid: boolean,
) {
  const common = {
    id,
    name: spec.name,
    'aria-invalid': invalid,
    'aria-describedby': invalid ? `${id}-error` : undefined,
  };
  if (spec.type === 'boolean') {
    return (
      <input
        {...common}
        type="checkbox"
        checked={value === 'true'}
        onChange={(e) => onChange(spec.name, String(e.target.checked))}
      />
    );
  }
  if (spec.enum) {
    return (
      <select {...common} value={value} onChange={(e) => onChange(spec.name, e.target.value)}>
        {spec.enum.map((v) => (
          <option key={String(v)} value={String(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    );
  }
  const numeric = spec.type === 'integer' || spec.type === 'number';
  return (
    <input
      {...common}
      type="text"
      inputMode={numeric ? (spec.type === 'integer' ? 'numeric' : 'decimal') : undefined}
      value={value}
      onChange={(e) => onChange(spec.name, e.target.value)}
    />
  );
}
