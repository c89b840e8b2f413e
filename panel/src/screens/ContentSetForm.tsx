import { useState } from "preact/hooks";
import type { components } from "../api/schema";
import {
  TYPES,
  defaultConfig,
  defaultOnePerVisitor,
  problems,
  tagsFromText,
  type Config,
  type FormFieldConfig,
  type Reaction,
  type SignalType,
  KEY_RULE,
} from "../contentSets";
import { Field, FormError, checked, inputValue } from "../ui/forms";

type ContentSetOut = components["schemas"]["ContentSetOut"];

export interface ContentSetValues {
  key: string;
  name: string;
  signal_type: SignalType;
  config: Config;
  edit_window_seconds: number;
  one_per_visitor: boolean;
  public_stats: boolean;
}

export function ContentSetForm({
  initial,
  disabled,
  busy,
  error,
  submitLabel,
  onSubmit,
}: {
  initial?: ContentSetOut;
  disabled: boolean;
  busy: boolean;
  error: string | null;
  submitLabel: string;
  onSubmit: (values: ContentSetValues) => void;
}) {
  const editing = Boolean(initial);
  const [key, setKey] = useState(initial?.key ?? "");
  const [name, setName] = useState(initial?.name ?? "");
  const [type, setType] = useState<SignalType>((initial?.signal_type as SignalType) ?? "yesno");
  const [config, setConfig] = useState<Config>((initial?.config as Config) ?? defaultConfig("yesno"));
  const [editMinutes, setEditMinutes] = useState(String((initial?.edit_window_seconds ?? 3600) / 60));
  const [onePerVisitor, setOnePerVisitor] = useState(initial?.one_per_visitor ?? true);
  const [publicStats, setPublicStats] = useState(initial?.public_stats ?? true);
  const [found, setFound] = useState<string[]>([]);

  function chooseType(next: SignalType) {
    setType(next);
    setConfig(next === initial?.signal_type ? (initial.config as Config) : defaultConfig(next));
    if (!editing) setOnePerVisitor(defaultOnePerVisitor(next));
  }

  function submit(event: Event) {
    event.preventDefault();
    const minutes = Number(editMinutes);
    const wrong = problems(key, type, config, minutes);
    setFound(wrong);
    if (wrong.length) return;
    onSubmit({
      key,
      name: name.trim(),
      signal_type: type,
      config,
      edit_window_seconds: Math.round(minutes * 60),
      one_per_visitor: onePerVisitor,
      public_stats: publicStats,
    });
  }

  return (
    <form class="stack" onSubmit={submit} noValidate>
      <fieldset disabled={disabled || busy}>
        <legend class="visually-hidden">{editing ? "Edit content set" : "New content set"}</legend>
        {!editing && (
          <Field id="set-key" label="Key" help={<>How your pages name this set, e.g. <code>docs</code>: {KEY_RULE}. It cannot change later.</>}>
            <input id="set-key" required value={key} onInput={(e) => setKey(inputValue(e).trim())} aria-describedby="set-key-help" autoCapitalize="off" />
          </Field>
        )}
        <Field id="set-name" label="Name" help="A name for people, e.g. “Documentation pages”. Optional.">
          <input id="set-name" maxLength={200} value={name} onInput={(e) => setName(inputValue(e))} aria-describedby="set-name-help" />
        </Field>
        <fieldset class="radio-group">
          <legend>What visitors give</legend>
          {TYPES.map((entry) => (
            <label class="inline radio" key={entry.type}>
              <input type="radio" name="set-type" value={entry.type} checked={type === entry.type} onChange={() => chooseType(entry.type)} />
              <span>
                <strong>{entry.label}</strong> — <span class="muted">{entry.help}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <TypeOptions type={type} config={config} onChange={setConfig} />
        <Field
          id="set-edit-window"
          label="Edit window (minutes)"
          help="For how long after giving a signal a visitor may change or take it back. 0 means never."
        >
          <input
            id="set-edit-window"
            type="number"
            min={0}
            max={43200}
            inputMode="numeric"
            value={editMinutes}
            onInput={(e) => setEditMinutes(inputValue(e))}
            aria-describedby="set-edit-window-help"
          />
        </Field>
        <div>
          <label class="inline">
            <input type="checkbox" checked={onePerVisitor} onChange={(e) => setOnePerVisitor(checked(e))} aria-describedby="set-one-help" />
            One per visitor
          </label>
          <p class="help" id="set-one-help">
            A visitor's newer signal on a content replaces their older one, so each person counts once.
          </p>
        </div>
        <div>
          <label class="inline">
            <input type="checkbox" checked={publicStats} onChange={(e) => setPublicStats(checked(e))} aria-describedby="set-public-help" />
            Public stats
          </label>
          <p class="help" id="set-public-help">
            Widgets on your pages may show the counts to visitors. Off: only your servers (with a secret key) and this panel see them.
          </p>
        </div>
        {found.length > 0 && (
          <div role="alert">
            <ul class="field-error">
              {found.map((problem) => (
                <li key={problem}>{problem}</li>
              ))}
            </ul>
          </div>
        )}
        <FormError message={error} />
        <div>
          <button type="submit">{busy ? "Saving…" : submitLabel}</button>
        </div>
      </fieldset>
    </form>
  );
}

function TypeOptions({ type, config, onChange }: { type: SignalType; config: Config; onChange: (config: Config) => void }) {
  if (type === "rating") {
    return (
      <Field id="set-scale" label="Scale" help="How many stars: the highest rating a visitor can give.">
        <select
          id="set-scale"
          value={String(config.scale ?? 5)}
          onChange={(e) => onChange({ ...config, scale: Number(inputValue(e)) as 5 | 7 | 10 })}
          aria-describedby="set-scale-help"
        >
          <option value="5">1 to 5</option>
          <option value="7">1 to 7</option>
          <option value="10">1 to 10</option>
        </select>
      </Field>
    );
  }
  if (type === "reaction") return <ReactionsEditor reactions={config.reactions ?? []} onChange={(reactions) => onChange({ ...config, reactions })} />;
  if (type === "message") return <MessageOptions config={config} onChange={onChange} />;
  return <p class="muted">This kind has no other options.</p>;
}

function ReactionsEditor({ reactions, onChange }: { reactions: Reaction[]; onChange: (reactions: Reaction[]) => void }) {
  const update = (index: number, change: Partial<Reaction>) => onChange(reactions.map((reaction, at) => (at === index ? { ...reaction, ...change } : reaction)));
  return (
    <fieldset class="card">
      <legend>Reactions</legend>
      <p class="help">
        Each reaction has a name (used in stats), an emoji, and whether it counts as positive, neutral or negative in the sentiment.
      </p>
      {reactions.map((reaction, index) => (
        <div class="reaction-row" key={index}>
          <label class="visually-hidden" for={`reaction-emoji-${index}`}>
            Emoji of reaction {index + 1}
          </label>
          <input id={`reaction-emoji-${index}`} class="emoji" maxLength={16} value={reaction.emoji} onInput={(e) => update(index, { emoji: inputValue(e) })} />
          <label class="visually-hidden" for={`reaction-key-${index}`}>
            Name of reaction {index + 1}
          </label>
          <input id={`reaction-key-${index}`} value={reaction.key} onInput={(e) => update(index, { key: inputValue(e).trim() })} />
          <label class="visually-hidden" for={`reaction-polarity-${index}`}>
            Sentiment of reaction {index + 1}
          </label>
          <select
            id={`reaction-polarity-${index}`}
            value={String(reaction.polarity)}
            onChange={(e) => update(index, { polarity: Number(inputValue(e)) as -1 | 0 | 1 })}
          >
            <option value="1">Positive</option>
            <option value="0">Neutral</option>
            <option value="-1">Negative</option>
          </select>
          <button type="button" class="danger small" onClick={() => onChange(reactions.filter((_, at) => at !== index))} aria-label={`Remove reaction ${reaction.key || index + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="secondary small" onClick={() => onChange([...reactions, { key: "", emoji: "", polarity: 0 }])}>
        Add a reaction
      </button>
    </fieldset>
  );
}

function MessageOptions({ config, onChange }: { config: Config; onChange: (config: Config) => void }) {
  const [tagText, setTagText] = useState((config.tags ?? []).join(", "));
  const fields = config.form_fields ?? [];
  const updateField = (index: number, change: Partial<FormFieldConfig>) =>
    onChange({ ...config, form_fields: fields.map((field, at) => (at === index ? { ...field, ...change } : field)) });
  return (
    <div class="stack">
      <Field id="set-tags" label="Tags" help="Topics a visitor may pick, separated by commas, e.g. idea, bug, other. Leave empty for none.">
        <input
          id="set-tags"
          value={tagText}
          onInput={(e) => {
            setTagText(inputValue(e));
            onChange({ ...config, tags: tagsFromText(inputValue(e)) });
          }}
          aria-describedby="set-tags-help"
        />
      </Field>
      <Field id="set-max-length" label="Longest message (characters)" help="Longer messages are refused with a message saying so.">
        <input
          id="set-max-length"
          type="number"
          min={1}
          max={20000}
          value={String(config.max_length ?? 5000)}
          onInput={(e) => onChange({ ...config, max_length: Number(inputValue(e)) })}
          aria-describedby="set-max-length-help"
        />
      </Field>
      <fieldset class="card">
        <legend>Extra fields</legend>
        <p class="help">Short answers asked next to the message, e.g. “Which section?”. The visitor's contact e-mail is always optional and built in.</p>
        {fields.map((field, index) => (
          <div class="field-row" key={index}>
            <div>
              <label for={`field-name-${index}`}>Name</label>
              <input id={`field-name-${index}`} value={field.name} onInput={(e) => updateField(index, { name: inputValue(e).trim() })} />
            </div>
            <div>
              <label for={`field-label-${index}`}>Question shown</label>
              <input id={`field-label-${index}`} value={field.label} maxLength={200} onInput={(e) => updateField(index, { label: inputValue(e) })} />
            </div>
            <div>
              <label for={`field-max-${index}`}>Longest answer</label>
              <input
                id={`field-max-${index}`}
                type="number"
                min={1}
                max={2000}
                value={String(field.max_length)}
                onInput={(e) => updateField(index, { max_length: Number(inputValue(e)) })}
              />
            </div>
            <label class="inline">
              <input type="checkbox" checked={field.required} onChange={(e) => updateField(index, { required: checked(e) })} />
              Required
            </label>
            <button
              type="button"
              class="danger small"
              onClick={() => onChange({ ...config, form_fields: fields.filter((_, at) => at !== index) })}
              aria-label={`Remove field ${field.name || index + 1}`}
            >
              Remove
            </button>
          </div>
        ))}
        <button
          type="button"
          class="secondary small"
          onClick={() => onChange({ ...config, form_fields: [...fields, { name: "", label: "", required: false, max_length: 500 }] })}
        >
          Add a field
        </button>
      </fieldset>
    </div>
  );
}
