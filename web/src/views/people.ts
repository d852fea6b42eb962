// Finding someone by name, and following or unfollowing them.

import { api, call, currentSession, type User } from "../api";
import { h, show, toast } from "../dom";

let following: Promise<Set<string>> | null = null;

/** Whom the signed-in user follows, read once per page load and kept up to date here. */
export function followingSet(): Promise<Set<string>> {
  following ??= (async () => {
    const ids = new Set<string>();
    const me = currentSession()?.userId ?? "";
    let pageToken: string | undefined = "";
    while (pageToken !== undefined && me) {
      const query = { pageSize: 100, pageToken };
      const page: { users?: User[]; nextPageToken?: string } = await call(
        api.GET("/v1/users/{userId}/following", { params: { path: { userId: me }, query } }),
      );
      for (const user of page.users ?? []) if (user.id) ids.add(user.id);
      pageToken = page.nextPageToken || undefined;
    }
    return ids;
  })();
  return following;
}

export function forgetFollowing(): void {
  following = null;
}

/** A Follow / Following button for `user`. */
export function followButton(user: User, changed?: (followed: boolean) => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "follow", disabled: true }, "…");
  const userId = user.id ?? "";
  const name = user.username ?? "";
  if (userId === currentSession()?.userId) {
    button.hidden = true;
    return button;
  }
  let followed = false;
  const render = (): void => {
    button.textContent = followed ? "Following" : "Follow";
    button.setAttribute("aria-pressed", String(followed));
    button.setAttribute("aria-label", followed ? `Unfollow ${name}` : `Follow ${name}`);
  };
  void followingSet().then((ids) => {
    followed = ids.has(userId);
    button.disabled = false;
    render();
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if (followed) await call(api.DELETE("/v1/follows/{followedId}", { params: { path: { followedId: userId } } }));
      else await call(api.POST("/v1/follows", { body: { followedId: userId } }));
      followed = !followed;
      const ids = await followingSet();
      if (followed) ids.add(userId);
      else ids.delete(userId);
      render();
      changed?.(followed);
    } catch (error) {
      toast((error as Error).message, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function peopleView(main: HTMLElement): () => void {
  const input = h("input", { id: "find", name: "username", type: "search", required: true, autocapitalize: "none", spellcheck: "false", placeholder: "username" });
  const result = h("div", { class: "found", "aria-live": "polite" });
  const form = h("form", { class: "find", role: "search" }, h("label", { for: "find" }, "Find someone by username"), input, h("button", { type: "submit" }, "Find"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const reply = await call(api.GET("/v1/users:lookup", { params: { query: { username: input.value.trim().toLowerCase() } } }));
      const user = reply.user ?? {};
      show(result, h("div", { class: "person" }, h("a", { href: `#/u/${user.username}` }, user.displayName || user.username || ""), ` ${user.followerCount ?? 0} followers `, followButton(user)));
    } catch (error) {
      show(result, h("p", { class: "error" }, (error as Error).message));
    }
  });
  show(main, h("h1", {}, "People"), form, result);
  input.focus();
  return () => undefined;
}
