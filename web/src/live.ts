// A live stream (Server-Sent Events) read with fetch: EventSource cannot send the bearer
// token. Like EventSource it reconnects when the stream ends, sending the last event's id
// as Last-Event-ID, so that the server replays exactly what was missed (ADR 14).

import { createParser } from "eventsource-parser";
import { currentSession, signedOut } from "./api";

export interface LiveHandlers {
  /** A named event and its JSON data. */
  event(name: string, data: unknown): void;
  /** The stream is open: everything published from now on arrives. */
  opened?(): void;
  /** The position was lost (an id the server no longer takes): reload, live events follow. */
  lost?(): void;
  /** The server refused the stream (too many open): it is not reopened. */
  failed?(message: string): void;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export class LiveStream {
  private lastEventId = "";
  private retryMs = FIRST_RETRY_MS;
  private readonly abort = new AbortController();

  constructor(
    private readonly path: string,
    private readonly handlers: LiveHandlers,
  ) {}

  start(): this {
    void this.run();
    return this;
  }

  stop(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    let backoff = this.retryMs;
    while (!this.abort.signal.aborted) {
      const outcome = await this.once();
      if (outcome === "stop" || this.abort.signal.aborted) return;
      // Ended or dropped: back after the server's `retry`, longer while it keeps failing.
      backoff = outcome === "dropped" ? Math.min(backoff * 2, MAX_RETRY_MS) : this.retryMs;
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }

  /** One connection: "ended" (reconnect), "dropped" (reconnect, backing off) or "stop". */
  private async once(): Promise<"ended" | "dropped" | "stop"> {
    const session = currentSession();
    if (!session) return "stop";
    const headers: Record<string, string> = { Authorization: `Bearer ${session.token}` };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    let response: Response;
    try {
      response = await fetch(this.path, { headers, signal: this.abort.signal, cache: "no-store" });
    } catch {
      return "dropped";
    }
    if (response.status === 401) {
      signedOut();
      return "stop";
    }
    if (!response.ok || !response.body) return "dropped";
    this.handlers.opened?.();
    let outcome: "ended" | "dropped" | "stop" = "ended";
    const parser = createParser({
      onEvent: (message) => {
        if (message.id) this.lastEventId = message.id;
        const data: unknown = JSON.parse(message.data);
        if (message.event === "error") {
          const error = (data as { error?: { status?: string; message?: string } }).error;
          if (error?.status === "INVALID_ARGUMENT" && this.lastEventId) {
            this.lastEventId = ""; // start afresh: what was missed is read by reloading
            this.handlers.lost?.();
          } else if (error?.status === "RESOURCE_EXHAUSTED" || error?.status === "INVALID_ARGUMENT") {
            outcome = "stop"; // too many streams open: reconnecting would close another
            this.handlers.failed?.(error?.message ?? "the live stream was refused");
          } else {
            outcome = "dropped"; // a backend unavailable for a moment: back later
          }
          return;
        }
        this.handlers.event(message.event ?? "message", data);
      },
      onRetry: (ms) => {
        this.retryMs = ms;
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      return "dropped";
    }
    return outcome;
  }
}
