// One post as the feed shows it: its author, media, caption, likes and comments.

import { ApiError, api, call, currentSession, type Comment, type Post } from "../api";
import { ago, h, show, toast } from "../dom";
import { mediaView } from "../media";

const FEED_WIDTH = 600; // the feed column's widest, in CSS pixels (styles.css)

export function postCard(post: Post): HTMLElement {
  const author = post.author;
  const name = author?.displayName || author?.username || "someone";
  const caption = post.caption ?? "";
  const alt = caption ? `Photo by ${name}: ${caption}` : `Photo by ${name}`;
  const width = Math.min(FEED_WIDTH, document.documentElement.clientWidth);
  const card = h(
    "article",
    { class: "post", tabindex: -1, "data-post-id": post.id, "data-author-id": post.authorId, "aria-label": `Post by ${name}` },
    h(
      "header",
      {},
      h("a", { href: `#/u/${author?.username ?? ""}`, class: "author" }, name),
      h("time", { datetime: post.publishedAt ?? "", title: post.publishedAt ?? "" }, ago(post.publishedAt)),
    ),
    mediaView(post.media, alt, "RENDITION_SIZE_FEED", width),
    caption ? h("p", { class: "caption" }, caption) : null,
  );
  card.append(engagement(post));
  return card;
}

function engagement(post: Post): HTMLElement {
  const postId = post.id ?? "";
  let liked = post.likedByViewer ?? false;
  let likes = Number(post.likeCount ?? 0);
  const likeButton = h("button", { type: "button", class: "like", "aria-pressed": String(liked) });
  const render = (): void => {
    likeButton.setAttribute("aria-pressed", String(liked));
    likeButton.textContent = `${liked ? "♥" : "♡"} ${likes} ${likes === 1 ? "like" : "likes"}`;
  };
  render();
  likeButton.addEventListener("click", async () => {
    likeButton.disabled = true;
    try {
      const params = { path: { postId } };
      const reply = liked
        ? await call(api.DELETE("/v1/posts/{postId}/likes", { params }))
        : await call(api.POST("/v1/posts/{postId}/likes", { params, body: {} }));
      liked = reply.likedByViewer ?? !liked;
      likes = Number(reply.likeCount ?? likes);
      render();
    } catch (error) {
      toast((error as Error).message, "error");
    } finally {
      likeButton.disabled = false;
    }
  });
  const comments = h("section", { class: "comments", hidden: true, "aria-label": "Comments" });
  let count = Number(post.commentCount ?? 0);
  const toggle = h("button", { type: "button", class: "comment-toggle", "aria-expanded": "false" });
  const renderCount = (): void => {
    toggle.textContent = `${count} ${count === 1 ? "comment" : "comments"}`;
  };
  renderCount();
  toggle.addEventListener("click", () => {
    const open = comments.hidden;
    comments.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open)
      void loadComments(postId, comments, () => {
        count += 1;
        renderCount();
      });
  });
  return h("footer", {}, h("div", { class: "actions" }, likeButton, toggle), comments);
}

async function loadComments(postId: string, section: HTMLElement, added: () => void): Promise<void> {
  const list = h("ul", { class: "comment-list" });
  const input = h("input", { name: "text", required: true, maxlength: 2200, "aria-label": "Add a comment", placeholder: "Add a comment…", autocomplete: "off" });
  const form = h("form", { class: "comment-form" }, input, h("button", { type: "submit" }, "Post"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const reply = await call(
        api.POST("/v1/posts/{postId}/comments", { params: { path: { postId } }, body: { text: input.value } }),
      );
      if (reply.comment) list.append(commentItem(reply.comment));
      input.value = "";
      added();
    } catch (error) {
      toast((error as ApiError).message, "error");
    }
  });
  show(section, list, form);
  try {
    const page = await call(api.GET("/v1/posts/{postId}/comments", { params: { path: { postId }, query: { pageSize: 50 } } }));
    list.append(...(page.comments ?? []).map(commentItem));
  } catch (error) {
    list.append(h("li", { class: "error" }, (error as Error).message));
  }
}

function commentItem(comment: Comment): HTMLElement {
  const who = comment.author?.username ?? "someone";
  const mine = comment.authorId === currentSession()?.userId;
  return h("li", {}, h("a", { href: `#/u/${who}`, class: "author" }, who), " ", comment.text ?? "", mine ? " " : "", mine ? h("span", { class: "mine" }, "(you)") : null);
}
