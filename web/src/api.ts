// The REST API, typed from the OpenAPI document the gateway serves (make web generates
// generated/api.ts with openapi-typescript), and who is signed in.

import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

export type Post = components["schemas"]["Post"];
export type Media = components["schemas"]["Media"];
export type User = components["schemas"]["User"];
export type UserSummary = components["schemas"]["UserSummary"];
export type Comment = components["schemas"]["Comment"];
export type Notification = components["schemas"]["Notification"];
type ErrorBody = components["schemas"]["Error"];

/** The signed-in user, kept in this browser until they sign out. */
export interface Session {
  token: string;
  userId: string;
  username: string;
}

const SESSION_KEY = "photoshare.session";

export function currentSession(): Session | null {
  const stored = localStorage.getItem(SESSION_KEY);
  return stored ? (JSON.parse(stored) as Session) : null;
}

export function keepSession(session: Session | null): void {
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
}

export const api = createClient<paths>({ baseUrl: "" });
api.use({
  onRequest({ request }) {
    const session = currentSession();
    if (session) request.headers.set("Authorization", `Bearer ${session.token}`);
    return request;
  },
});

/** A failed call, with the API's message for a person to act on. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The data of a call, or an ApiError saying what went wrong (never a blank screen). */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let reply: { data?: T; error?: unknown; response: Response };
  try {
    reply = await request;
  } catch {
    throw new ApiError("Photoshare cannot be reached: check your connection and try again.", 0);
  }
  if (reply.error !== undefined || reply.data === undefined) {
    const body = reply.error as ErrorBody | undefined;
    const message = body?.error?.message ?? `the server answered ${reply.response.status}`;
    if (reply.response.status === 401) signedOut();
    throw new ApiError(message, reply.response.status);
  }
  return reply.data;
}

/** Everyone listening learns that the session ended (a 401, or signing out). */
export function signedOut(): void {
  keepSession(null);
  window.dispatchEvent(new Event("photoshare:signed-out"));
}
