// API errors in words a person understands. The API answers {"error": {"code", "message"}}.
export interface ApiErrorBody {
  error?: { code?: string; message?: string };
  detail?: unknown;
}

const BY_STATUS: Record<number, string> = {
  401: "You are not signed in, or your sign-in has ended. Please sign in again.",
  403: "Your role does not allow this. Ask an admin of the organization.",
  404: "This was not found. It may have been deleted.",
  409: "This conflicts with what is already there.",
  429: "Too many requests at once. Wait a moment and try again.",
  503: "A service behind the API is not answering right now. Try again in a minute.",
};

export function errorText(error: unknown, status?: number): string {
  if (error instanceof TypeError) return "Could not reach Feelback. Check your connection and try again.";
  const body = error as ApiErrorBody | undefined;
  const message = body?.error?.message;
  if (message) return sentence(message);
  if (status && BY_STATUS[status]) return BY_STATUS[status];
  if (status && status >= 500) return "Something went wrong on our side. Try again in a minute.";
  return "Something went wrong. Try again.";
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** Unwraps an openapi-fetch result: the data, or an Error carrying the person-readable message. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result;
  try {
    result = await call;
  } catch (error) {
    throw new Error(errorText(error));
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new Error(errorText(result.error, result.response.status));
  }
  return result.data as T;
}

/** For calls answered without a body (204): true once done, or the Error as ``must`` throws it. */
export async function done(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<true> {
  await must(call);
  return true;
}
