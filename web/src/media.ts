// Showing a post's media by the documented rule (README, "Media"): lay out from aspectRatio,
// paint the BlurHash placeholder at once, then the rendition of the size class the screen
// needs, in the first format the browser decodes of AVIF, WebP, JPEG.

import { decode } from "blurhash";
import type { Media } from "./api";
import { h } from "./dom";

type Rendition = NonNullable<Media["renditions"]>[number];
export type SizeClass = "RENDITION_SIZE_THUMBNAIL" | "RENDITION_SIZE_FEED" | "RENDITION_SIZE_FULL";

const CLASSES: SizeClass[] = ["RENDITION_SIZE_THUMBNAIL", "RENDITION_SIZE_FEED", "RENDITION_SIZE_FULL"];
const WIDTHS: Record<SizeClass, number> = {
  RENDITION_SIZE_THUMBNAIL: 150,
  RENDITION_SIZE_FEED: 640,
  RENDITION_SIZE_FULL: 1080,
};
// <source> order is the browser's order of preference.
const FORMATS = ["image/avif", "image/webp", "image/jpeg"];

/** The size class to draw at `cssWidth` on this screen: `drawn`, or a larger one when the
 * screen needs more pixels than that class is wide. */
export function sizeClassFor(drawn: SizeClass, cssWidth: number, pixelRatio = window.devicePixelRatio || 1): SizeClass {
  const needed = cssWidth * pixelRatio;
  let chosen = drawn;
  for (const size of CLASSES.slice(CLASSES.indexOf(drawn))) {
    chosen = size;
    if (WIDTHS[size] >= needed) break;
  }
  return chosen;
}

/** A box of the media's shape with its placeholder, filled by the image (or video) when it
 * arrives. `cssWidth`: how wide it will be drawn. */
export function mediaView(media: Media | undefined, alt: string, drawn: SizeClass, cssWidth: number): HTMLElement {
  const frame = h("div", { class: "frame" });
  if (!media) return frame;
  frame.style.aspectRatio = String(drawn === "RENDITION_SIZE_THUMBNAIL" ? 1 : media.aspectRatio || 1);
  if (media.placeholder?.color) frame.style.backgroundColor = media.placeholder.color;
  const hash = media.placeholder?.blurhash;
  if (hash) frame.append(placeholder(hash));
  const renditions = media.renditions ?? [];
  const size = sizeClassFor(drawn, cssWidth);
  const images = renditions.filter((r) => r.size === size && r.contentType?.startsWith("image/"));
  const video = renditions.find((r) => r.contentType === "video/mp4");
  if (media.type === "MEDIA_TYPE_VIDEO" && video && drawn !== "RENDITION_SIZE_THUMBNAIL") {
    const poster = pick(images, "image/jpeg");
    const player = h("video", { controls: true, preload: "none", playsinline: true, src: video.url, poster: poster?.url, "aria-label": alt });
    frame.append(player);
    return frame;
  }
  const picture = h("picture", {});
  for (const format of FORMATS.slice(0, -1)) {
    const source = pick(images, format);
    if (source?.url) picture.append(h("source", { type: format, srcset: source.url }));
  }
  const fallback = pick(images, "image/jpeg") ?? images[0];
  const image = h("img", { src: fallback?.url, alt, loading: "lazy", decoding: "async", width: fallback?.width, height: fallback?.height });
  image.addEventListener("load", () => frame.classList.add("loaded"), { once: true });
  picture.append(image);
  frame.append(picture);
  return frame;
}

function pick(renditions: Rendition[], format: string): Rendition | undefined {
  return renditions.find((r) => r.contentType === format);
}

/** The BlurHash painted small and stretched by CSS: a few hundred pixels decoded. */
function placeholder(hash: string): HTMLCanvasElement {
  const canvas = h("canvas", { class: "placeholder", width: 32, height: 32, "aria-hidden": "true" });
  try {
    const image = new ImageData(32, 32);
    image.data.set(decode(hash, 32, 32));
    canvas.getContext("2d")?.putImageData(image, 0, 0);
  } catch {
    // A hash that does not decode leaves the average colour behind it.
  }
  return canvas;
}
