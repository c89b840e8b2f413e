// The widgets' words in the visitor's language (from `data-locale` or the nearest `lang`); every one
// can be replaced per element with a `text-<name>` attribute, e.g. text-question="Useful?".

const NAMES = "yes no question up down like rate star reactions message topic email send undo thanks removed failed average".split(" ");

const LANGUAGES: Record<string, string> = {
  en: "Yes|No|Was this helpful?|Upvote|Downvote|Like|Rate this page|{n} of {m}|Reactions|Your feedback|Topic|Email (optional)|Send|Undo|Thank you! Your feedback was sent.|Your feedback was removed.|Sorry, your feedback could not be saved.|Average {a} of {m} ({n})",
  de: "Ja|Nein|War das hilfreich?|Positiv bewerten|Negativ bewerten|Gefällt mir|Diese Seite bewerten|{n} von {m}|Reaktionen|Ihr Feedback|Thema|E-Mail (optional)|Senden|Rückgängig|Danke! Ihr Feedback wurde gesendet.|Ihr Feedback wurde entfernt.|Ihr Feedback konnte leider nicht gespeichert werden.|Durchschnitt {a} von {m} ({n})",
  fr: "Oui|Non|Cela vous a-t-il aidé ?|Vote positif|Vote négatif|J’aime|Noter cette page|{n} sur {m}|Réactions|Votre avis|Sujet|E-mail (facultatif)|Envoyer|Annuler|Merci ! Votre avis a été envoyé.|Votre avis a été retiré.|Désolé, votre avis n’a pas pu être enregistré.|Moyenne {a} sur {m} ({n})",
  it: "Sì|No|Ti è stato utile?|Voto positivo|Voto negativo|Mi piace|Valuta questa pagina|{n} su {m}|Reazioni|Il tuo feedback|Argomento|E-mail (facoltativa)|Invia|Annulla|Grazie! Il tuo feedback è stato inviato.|Il tuo feedback è stato rimosso.|Spiacenti, non è stato possibile salvare il tuo feedback.|Media {a} su {m} ({n})",
  es: "Sí|No|¿Te ha resultado útil?|Voto positivo|Voto negativo|Me gusta|Valora esta página|{n} de {m}|Reacciones|Tu opinión|Tema|Correo (opcional)|Enviar|Deshacer|¡Gracias! Tu opinión se ha enviado.|Tu opinión se ha eliminado.|No se pudo guardar tu opinión.|Media {a} de {m} ({n})",
};

/** The language of an element: `data-locale`, else the nearest `lang`, else the browser's; English when not built in. */
export function languageOf(element: Element): string {
  const tag = (element.getAttribute("data-locale") || element.closest("[lang]")?.getAttribute("lang") || navigator.language || "en").slice(0, 2).toLowerCase();
  return LANGUAGES[tag] ? tag : "en";
}

/** The words for an element: `text(name, {n: 3})` with `{n}` replaced. */
export function wordsFor(element: Element): (name: string, values?: Record<string, unknown>) => string {
  const words = LANGUAGES[languageOf(element)].split("|");
  return (name, values = {}) =>
    (element.getAttribute("text-" + name) ?? words[NAMES.indexOf(name)]).replace(/\{(\w)\}/g, (_, slot) => String(values[slot]));
}
