// The web app: a bar, and one view at a time chosen by the URL's hash (#/, #/new, #/people,
// #/notifications, #/u/<username>), so that the gateway serves a single page.

import "./styles.css";
import { api, call, currentSession, signedOut } from "./api";
import { h, show, toast } from "./dom";
import { authView } from "./views/auth";
import { composeView } from "./views/compose";
import { feedView } from "./views/feed";
import { LiveNotifications, notificationsView } from "./views/notifications";
import { forgetFollowing, peopleView } from "./views/people";
import { profileView } from "./views/profile";

const main = document.getElementById("main") as HTMLElement;
const bar = document.getElementById("bar") as HTMLElement;
let leave: () => void = () => undefined;
let notifications: LiveNotifications | null = null; // while signed in
const badge = h("span", { class: "badge", hidden: true });

function setUnread(count: number): void {
  badge.hidden = count === 0;
  badge.textContent = count > 99 ? "99+" : String(count);
  badge.setAttribute("aria-label", `${count} unread`);
}

function renderBar(): void {
  const session = currentSession();
  if (!session) {
    show(bar, h("nav", { "aria-label": "Main" }, h("a", { href: "#/", class: "brand" }, "Photoshare")));
    return;
  }
  const link = (href: string, label: string, ...extra: Node[]): HTMLElement => h("a", { href }, label, ...extra);
  const signOut = h("button", { type: "button", class: "link" }, "Sign out");
  signOut.addEventListener("click", async () => {
    try {
      await call(api.DELETE("/v1/sessions/{id}", { params: { path: { id: "current" } } }));
    } catch (error) {
      toast((error as Error).message, "error");
    }
    signedOut();
  });
  show(
    bar,
    h(
      "nav",
      { "aria-label": "Main" },
      h("a", { href: "#/", class: "brand" }, "Photoshare"),
      link("#/", "Home"),
      link("#/new", "New post"),
      link("#/people", "People"),
      link("#/notifications", "Notifications", badge),
      link(`#/u/${session.username}`, "Profile"),
      signOut,
    ),
  );
}

function route(): void {
  leave();
  const session = currentSession();
  const path = location.hash.replace(/^#/, "") || "/";
  renderBar();
  if (!session) {
    leave = authView(main, () => {
      forgetFollowing();
      notifications = new LiveNotifications(setUnread);
      location.hash = "#/";
      route();
    });
  } else if (path === "/new") {
    leave = composeView(main, () => {
      location.hash = "#/";
    });
  } else if (path === "/people") {
    leave = peopleView(main);
  } else if (path === "/notifications") {
    notifications ??= new LiveNotifications(setUnread);
    leave = notificationsView(main, notifications, setUnread);
  } else if (path.startsWith("/u/")) {
    leave = profileView(main, decodeURIComponent(path.slice(3)));
  } else {
    leave = feedView(main);
  }
  for (const a of bar.querySelectorAll("a")) {
    if (a.getAttribute("href") === `#${path}`) a.setAttribute("aria-current", "page");
  }
  main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
window.addEventListener("photoshare:signed-out", () => {
  notifications?.stop();
  notifications = null;
  forgetFollowing();
  route();
});
// Whatever goes wrong is said, never a blank screen.
window.addEventListener("unhandledrejection", (event) => toast(String((event.reason as Error)?.message ?? event.reason), "error"));
window.addEventListener("error", (event) => toast(event.message, "error"));

if (currentSession()) notifications = new LiveNotifications(setUnread);
route();
