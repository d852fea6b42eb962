// The web app's build: `make web` runs `vite build web`; the gateway serves web/dist at /.
import { defineConfig } from "vite";

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Plain names for the few assets, each content-hashed (the gateway caches them forever).
    assetsInlineLimit: 0,
  },
  server: {
    // `npx vite web` while developing: the API and media from a running `make run`.
    proxy: { "/v1": "http://127.0.0.1:8080" },
  },
});
