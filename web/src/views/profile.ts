// A profile: who they are, their counts, a follow button and the grid of their posts.

import { api, call, type Post } from "../api";
import { h, show, toast } from "../dom";
import { mediaView } from "../media";
import { followButton } from "./people";

const GRID_PAGE = 30;
const CELL_WIDTH = 200; // a grid cell's widest, in CSS pixels (styles.css)

export function profileView(main: HTMLElement, username: string): () => void {
  const grid = h("div", { class: "grid", role: "list" });
  const sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
  let cursor: string | undefined = "";
  let userId = "";
  let loading = false;
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) void more();
  }, { rootMargin: "600px" });

  const more = async (): Promise<void> => {
    if (loading || cursor === undefined || !userId) return;
    loading = true;
    try {
      const page = await call(api.GET("/v1/users/{userId}/posts", { params: { path: { userId }, query: { limit: GRID_PAGE, cursor } } }));
      grid.append(...(page.posts ?? []).map(cell));
      cursor = page.nextCursor || undefined;
    } catch (error) {
      toast((error as Error).message, "error");
    } finally {
      loading = false;
    }
  };

  void (async () => {
    try {
      const { user = {} } = await call(api.GET("/v1/users:lookup", { params: { query: { username } } }));
      userId = user.id ?? "";
      const followers = h("span", {}, `${user.followerCount ?? 0} followers`);
      show(
        main,
        h(
          "header",
          { class: "profile" },
          h("h1", {}, user.displayName || user.username || ""),
          h("p", { class: "handle" }, `@${user.username}`),
          user.bio ? h("p", {}, user.bio) : null,
          h("p", { class: "counts" }, `${user.postCount ?? 0} posts · `, followers, ` · ${user.followingCount ?? 0} following`),
          followButton(user, (followed) => {
            const count = Number(user.followerCount ?? 0) + (followed ? 1 : 0);
            followers.textContent = `${count} followers`;
          }),
        ),
        h("h2", { class: "visually-hidden" }, "Posts"),
        grid,
        sentinel,
      );
      observer.observe(sentinel);
      await more();
    } catch (error) {
      show(main, h("p", { class: "error", role: "alert" }, (error as Error).message));
    }
  })();
  return () => observer.disconnect();
}

function cell(post: Post): HTMLElement {
  const alt = post.caption || "A post";
  return h("div", { role: "listitem", class: "cell" }, mediaView(post.media, alt, "RENDITION_SIZE_THUMBNAIL", CELL_WIDTH));
}
