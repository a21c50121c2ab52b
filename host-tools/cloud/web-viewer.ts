/**
 * The cloud serves the browser-key web viewer (docs/VIEWER.md "Browser-key mode", docs/CLOUD-API.md "The web
 * viewer page"): three static files built by `make build` into dist/web-viewer/ (mk/web-viewer.mk).
 *
 *   GET /viewer            302 to /viewer/
 *   GET /viewer/           index.html
 *   GET /viewer/app.js     the page's script (firmware/core bundled for the browser)
 *   GET /viewer/viewer.css its stylesheet
 *
 * No session, no cookie, nothing per user: the page is public code. It makes its key in the browser and talks
 * to the mailbox and shared-clip routes (mailbox.ts) with its proof of key, so what it gets from here is code
 * and what it gets from there is public data and ciphertext. Every reply carries a strict Content-Security-
 * Policy (only this origin's script and style, no inline code, no framing).
 */
import * as fs from "node:fs";
import type * as http from "node:http";
import * as path from "node:path";
import { httpFail } from "./http-util";

export const WEB_VIEWER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const FILES: Record<string, { file: string; type: string }> = {
  "": { file: "index.html", type: "text/html; charset=utf-8" },
  "app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "viewer.css": { file: "viewer.css", type: "text/css; charset=utf-8" },
};

/** dist/web-viewer next to the bundled CLI (dist/sealcam.cjs) or in the repository above this module. */
export function webViewerDir(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, "web-viewer"), path.join(dir, "dist", "web-viewer")]) {
      if (fs.existsSync(path.join(candidate, "app.js")) && fs.existsSync(path.join(candidate, "index.html"))) return candidate;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

interface StaticCtx { res: http.ServerResponse; params: string[] }

export function registerWebViewer<C extends StaticCtx>(h: { route: (method: string, pattern: string, handler: (ctx: C) => Promise<void>) => void; dir?: string }): void {
  const send = (ctx: C, name: string): void => {
    const entry = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!entry) httpFail(404, "E_NOT_FOUND", "no such file in the web viewer");
    const dir = h.dir ?? webViewerDir();
    if (!dir) httpFail(404, "E_NOT_FOUND", "the web viewer is not built on this server: run make build");
    let body: Buffer;
    try {
      body = fs.readFileSync(path.join(dir, entry.file));
    } catch {
      return httpFail(404, "E_NOT_FOUND", "the web viewer is not built on this server: run make build");
    }
    ctx.res.writeHead(200, {
      "content-type": entry.type, "content-length": body.length, "cache-control": "no-cache",
      "content-security-policy": WEB_VIEWER_CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
      "x-frame-options": "DENY", "cross-origin-opener-policy": "same-origin",
    });
    ctx.res.end(body);
  };
  h.route("GET", "/viewer", async (ctx) => {
    ctx.res.writeHead(302, { location: "/viewer/", "content-length": 0 });
    ctx.res.end();
  });
  h.route("GET", "/viewer/", async (ctx) => send(ctx, ""));
  h.route("GET", "/viewer/:file", async (ctx) => send(ctx, ctx.params[0] ?? ""));
}
