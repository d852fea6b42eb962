// A new post: the photo or video goes up through a resumable upload (tus), with a progress
// bar that carries on after the connection drops; then the post is watched until published.

import * as tus from "tus-js-client";
import { ApiError, api, call } from "../api";
import { h, show, toast } from "../dom";

// Retries after a dropped connection: the upload resumes where the server says it stopped.
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000];
const PUBLISH_WAIT_MS = 60_000;
// Browsers leave some types empty (HEIC on most): named by extension instead.
const BY_EXTENSION: Record<string, string> = { heic: "image/heic", heif: "image/heif", mov: "video/quicktime", mp4: "video/mp4" };

export function composeView(main: HTMLElement, done: () => void): () => void {
  const file = h("input", { type: "file", id: "file", name: "file", accept: "image/*,video/mp4,video/quicktime,.heic,.heif", required: true });
  const caption = h("textarea", { id: "caption", name: "caption", maxlength: 2200, rows: 3 });
  const progress = h("progress", { id: "progress", max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const state = h("p", { class: "state", role: "status" });
  const submit = h("button", { type: "submit" }, "Share");
  const form = h(
    "form",
    { class: "compose", "aria-labelledby": "compose-title" },
    h("h1", { id: "compose-title" }, "New post"),
    h("label", { for: "file" }, "Photo or video"),
    file,
    h("label", { for: "caption" }, "Caption"),
    caption,
    submit,
    progress,
    state,
  );
  let upload: tus.Upload | null = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    submit.disabled = true;
    try {
      const contentType = chosen.type || BY_EXTENSION[chosen.name.split(".").pop()?.toLowerCase() ?? ""] || "application/octet-stream";
      const created = await call(
        api.POST("/v1/posts", {
          params: { header: { "Idempotency-Key": crypto.randomUUID() } },
          body: {
            caption: caption.value,
            media: {
              type: contentType.startsWith("video/") ? "MEDIA_TYPE_VIDEO" : "MEDIA_TYPE_PHOTO",
              contentType,
              sizeBytes: String(chosen.size),
            },
          },
        }),
      );
      const postId = created.post?.id ?? "";
      progress.hidden = false;
      upload = new tus.Upload(chosen, {
        uploadUrl: created.upload?.url, // the post made the upload: no tus creation step
        retryDelays: RETRY_DELAYS_MS,
        chunkSize: 256 * 1024, // a dropped connection costs at most this much again
        onProgress(sent, total) {
          progress.value = Math.round((sent / total) * 100);
          state.textContent = `Uploading… ${progress.value} %`;
        },
        onShouldRetry() {
          state.textContent = "Connection lost: resuming…";
          return true;
        },
      });
      await send(upload, postId);
    } catch (error) {
      state.textContent = (error as Error).message;
      submit.disabled = false;
    }
  });

  /** Uploads (what the server has is kept: a retry sends the rest), then waits for the post. */
  const send = async (running: tus.Upload, postId: string): Promise<void> => {
    state.textContent = "Uploading…";
    try {
      await new Promise<void>((resolve, reject) => {
        running.options.onSuccess = () => resolve();
        running.options.onError = (error) => reject(error);
        running.start();
      });
    } catch (error) {
      state.textContent = `The upload stopped: ${(error as Error).message} `;
      state.append(h("button", { type: "button", onclick: () => void send(running, postId) }, "Resume"));
      return;
    }
    state.textContent = "Processing…";
    const post = await published(postId);
    if (post.state === "POST_STATE_FAILED") {
      state.textContent = `This file cannot be posted: ${post.failureReason ?? "it could not be read"}`;
      submit.disabled = false;
      return;
    }
    toast("Posted.");
    done();
  };
  show(main, form);
  file.focus();
  return () => upload?.abort();
}

async function published(postId: string): Promise<{ state?: string; failureReason?: string }> {
  const deadline = Date.now() + PUBLISH_WAIT_MS;
  let delay = 200;
  while (Date.now() < deadline) {
    try {
      const reply = await call(api.GET("/v1/posts/{id}", { params: { path: { id: postId } } }));
      if (reply.post?.state !== "POST_STATE_PENDING_MEDIA") return reply.post ?? {};
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 0) throw error;
      // Offline for a moment: the post is processing all the same; ask again.
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2000);
  }
  throw new Error("the post is still processing; it will appear in your feed when it is ready");
}
