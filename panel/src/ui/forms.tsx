import type { ComponentChildren } from "preact";

let counter = 0;
export function fieldId(name: string): string {
  counter += 1;
  return `${name}-${counter}`;
}

/** A labelled input with help text in plain words; the label and help are tied to the control. */
export function Field({ id, label, help, children }: { id: string; label: string; help?: ComponentChildren; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {help && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
    </div>
  );
}

export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p class="field-error" role="alert">
      {message}
    </p>
  );
}

export function inputValue(event: Event): string {
  return (event.target as HTMLInputElement).value;
}

export function checked(event: Event): boolean {
  return (event.target as HTMLInputElement).checked;
}

/** A secret shown once, with a copy button. */
export function ShownOnce({ label, value }: { label: string; value: string }) {
  return (
    <div class="shown-once">
      <p>
        <strong>{label}</strong> — copy it now: it is shown only this once.
      </p>
      <div class="copy-row">
        <code class="secret" data-testid="shown-once">
          {value}
        </code>
        <CopyButton text={value} />
      </div>
    </div>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  return (
    <button
      type="button"
      class="secondary small"
      onClick={async (event) => {
        const button = event.currentTarget as HTMLButtonElement;
        try {
          await navigator.clipboard.writeText(text);
          button.textContent = "Copied";
        } catch {
          button.textContent = "Select and copy by hand";
        }
        setTimeout(() => (button.textContent = label), 2000);
      }}
    >
      {label}
    </button>
  );
}

/** The allowed origins of a project, one per line. */
export function OriginsField({ id, value, onChange, rows = 2 }: { id: string; value: string; onChange: (value: string) => void; rows?: number }) {
  return (
    <Field
      id={id}
      label="Allowed origins"
      help="The web addresses whose pages may send feedback and read public stats, one per line, e.g. https://docs.example.com or https://*.example.com."
    >
      <textarea id={id} rows={rows} value={value} onInput={(e) => onChange(inputValue(e))} aria-describedby={`${id}-help`} />
    </Field>
  );
}

/** A labelled choice of one content set, or none ("any"). */
export function ContentSetSelect({
  id,
  sets,
  value,
  onChange,
  any,
}: {
  id: string;
  sets: { key: string; name: string }[];
  value: string;
  onChange: (key: string) => void;
  any: string;
}) {
  return (
    <Field id={id} label="Content set">
      <select id={id} value={value} onChange={(e) => onChange(inputValue(e))}>
        <option value="">{any}</option>
        {sets.map((set) => (
          <option key={set.key} value={set.key}>
            {set.name || set.key}
          </option>
        ))}
      </select>
    </Field>
  );
}
