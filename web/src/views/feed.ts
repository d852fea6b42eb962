// The home feed: pages as the reader scrolls, and posts that arrive live behind a
// "3 new posts" banner (no reload). The live stream opens first, then the first page is read,
// and the two are merged by post id (ADR 14).

import { api, call, type Post } from "../api";
import { h, show, toast } from "../dom";
import { LiveStream } from "../live";
import { postCard } from "./post";

const PAGE = 10;

export function feedView(main: HTMLElement): () => void {
  const shown = new Set<string>();
  const waiting: Post[] = [];
  const list = h("div", { class: "posts", "aria-live": "off" });
  const banner = h("button", { type: "button", class: "banner", hidden: true });
  const end = h("p", { class: "end" });
  const sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
  let cursor: string | undefined = "";
  let loading = false;

  show(main, h("h1", { class: "visually-hidden" }, "Home"), banner, list, end, sentinel);

  function dropWaiting(gone: (post: Post) => boolean): void {
    for (let i = waiting.length - 1; i >= 0; i--) if (gone(waiting[i])) waiting.splice(i, 1);
    showBanner();
  }

  function showBanner(): void {
    banner.textContent = `${waiting.length} new ${waiting.length === 1 ? "post" : "posts"}`;
    banner.hidden = waiting.length === 0;
  }

  const addBelow = (posts: Post[]): void => {
    for (const post of posts) {
      if (!post.id || shown.has(post.id)) continue;
      shown.add(post.id);
      list.append(postCard(post));
    }
    dropWaiting((post) => shown.has(post.id ?? "")); // arrived live while the page was read
  };

  const loadMore = async (): Promise<void> => {
    if (loading || cursor === undefined) return;
    loading = true;
    try {
      const page = await call(api.GET("/v1/feed", { params: { query: { limit: PAGE, cursor } } }));
      addBelow(page.posts ?? []);
      cursor = page.nextCursor ?? undefined;
      if (cursor === undefined) end.textContent = shown.size ? "You're all caught up." : "No posts yet: the posts of the people you follow appear here.";
    } catch (error) {
      toast((error as Error).message, "error");
      end.replaceChildren(h("button", { type: "button", onclick: () => void loadMore() }, "Try again"));
    } finally {
      loading = false;
    }
  };

  const showWaiting = (): void => {
    waiting.sort((a, b) => Date.parse(a.publishedAt ?? "") - Date.parse(b.publishedAt ?? ""));
    for (const post of waiting.splice(0)) {
      if (!post.id || shown.has(post.id)) continue;
      shown.add(post.id);
      list.prepend(postCard(post));
    }
    banner.hidden = true;
    if (cursor === undefined) end.textContent = "You're all caught up.";
    window.scrollTo({ top: 0 });
    (list.firstElementChild as HTMLElement | null)?.focus?.();
  };
  banner.addEventListener("click", showWaiting);

  const reload = (): void => {
    shown.clear();
    waiting.length = 0;
    list.replaceChildren();
    banner.hidden = true;
    cursor = "";
    void loadMore();
  };

  const stream = new LiveStream("/v1/feed:stream", {
    event(name, data) {
      const event = data as { post?: Post; removedPostId?: string; hiddenAuthorId?: string };
      if (name === "post" && event.post?.id && !shown.has(event.post.id) && !waiting.some((p) => p.id === event.post?.id)) {
        waiting.push(event.post);
        showBanner();
      } else if (name === "removedPostId") {
        list.querySelector(`[data-post-id="${event.removedPostId}"]`)?.remove();
        dropWaiting((p) => p.id === event.removedPostId);
      } else if (name === "hiddenAuthorId") {
        list.querySelectorAll(`[data-author-id="${event.hiddenAuthorId}"]`).forEach((card) => card.remove());
        dropWaiting((p) => p.authorId === event.hiddenAuthorId);
      } else if (name === "reset") {
        reload();
      }
    },
    lost: () => reload(),
    failed(message) {
      toast(`Live updates stopped: ${message}`, "error");
    },
  });
  stream.start();

  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) void loadMore();
  }, { rootMargin: "800px" });
  observer.observe(sentinel);
  void loadMore();

  return () => {
    observer.disconnect();
    stream.stop();
  };
}
