// Notifications: the list, entries arriving live, and the unread badge in the bar.

import { api, call, type Notification } from "../api";
import { ago, h, show, toast } from "../dom";
import { type LiveHandlers, LiveStream } from "../live";

type Badge = (unread: number) => void;

/** The signed-in user's notifications as they arrive: one stream for the page, which keeps
 * the bar's unread badge current and which the notifications view listens to while open (a
 * stream each would count twice against the streams a user may hold). */
export class LiveNotifications {
  private readonly listeners = new Set<LiveHandlers>();
  private readonly stream: LiveStream;
  private open = false;

  constructor(badge: Badge) {
    void call(api.GET("/v1/notifications", { params: { query: { pageSize: 1 } } }))
      .then((page) => badge(Number(page.unreadCount ?? 0)))
      .catch(() => undefined);
    this.stream = new LiveStream("/v1/notifications:stream", {
      event: (name, data) => {
        if (name === "notification" || name === "reset") badge(Number((data as { unreadCount?: string }).unreadCount ?? 0));
        for (const listener of this.listeners) listener.event(name, data);
      },
      opened: () => {
        this.open = true;
        for (const listener of this.listeners) listener.opened?.();
      },
      failed: (message) => toast(`Live notifications stopped: ${message}`, "error"),
    }).start();
  }

  /** Hands `handlers` what arrives from now on; `opened` at once if the stream is open. */
  listen(handlers: LiveHandlers): () => void {
    this.listeners.add(handlers);
    if (this.open) handlers.opened?.();
    return () => this.listeners.delete(handlers);
  }

  stop(): void {
    this.stream.stop();
  }
}

export function notificationsView(main: HTMLElement, live: LiveNotifications, badge: Badge): () => void {
  const list = h("ol", { class: "notifications" });
  const markRead = h("button", { type: "button" }, "Mark all read");
  const entries = new Map<string, HTMLElement>(); // by subject: a newer entry replaces it
  const add = (notification: Notification, top: boolean): void => {
    const subject = `${notification.kind}:${notification.postId}:${notification.commentId}:${notification.kind === "NOTIFICATION_KIND_FOLLOW" ? notification.actors?.[0]?.id : ""}`;
    entries.get(subject)?.remove();
    const item = entry(notification);
    entries.set(subject, item);
    if (top) list.prepend(item);
    else list.append(item);
  };
  let newest = "";
  markRead.addEventListener("click", async () => {
    if (!newest) return;
    try {
      const reply = await call(api.POST("/v1/notifications:markRead", { body: { upTo: newest } }));
      badge(Number(reply.unreadCount ?? 0));
      list.querySelectorAll(".unread").forEach((item) => item.classList.remove("unread"));
    } catch (error) {
      toast((error as Error).message, "error");
    }
  });
  show(main, h("h1", {}, "Notifications"), markRead, list);
  const load = async (): Promise<void> => {
    const page = await call(api.GET("/v1/notifications", { params: { query: { pageSize: 50 } } }));
    list.replaceChildren();
    entries.clear();
    for (const notification of page.notifications ?? []) add(notification, false);
    newest = page.notifications?.[0]?.id ?? "";
    badge(Number(page.unreadCount ?? 0));
  };
  // The stream first (it sends what arrives from the moment it opens), then the list.
  return live.listen({
    event(name, data) {
      const event = data as { notification?: Notification; unreadCount?: string };
      if (name === "notification" && event.notification) {
        add(event.notification, true);
        newest = event.notification.id ?? newest;
      } else if (name === "reset") {
        void load();
      }
    },
    opened() {
      void load().catch((error: Error) => toast(error.message, "error"));
    },
  });
}

function entry(notification: Notification): HTMLElement {
  const actors = notification.actors ?? [];
  const first = actors[0]?.username ?? "someone";
  const others = Number(notification.actorCount ?? actors.length) - 1;
  const who = others > 0 ? `${first} and ${others} ${others === 1 ? "other" : "others"}` : first;
  const what =
    notification.kind === "NOTIFICATION_KIND_FOLLOW"
      ? "followed you"
      : notification.kind === "NOTIFICATION_KIND_LIKE"
        ? "liked your post"
        : `commented: “${notification.commentText ?? ""}”`;
  return h(
    "li",
    { class: notification.read ? "notification" : "notification unread" },
    h("a", { href: `#/u/${first}` }, who),
    ` ${what} `,
    h("time", { datetime: notification.updateTime ?? "" }, ago(notification.updateTime)),
  );
}
