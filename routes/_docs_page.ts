/**
 * The `/docs` page: Swagger UI, served from the `swagger-ui-dist` npm package
 * through this server (no CDN), reading `/v1/openapi.json`. All URLs are
 * relative, so the page also works behind a path-prefix proxy.
 *
 * @module
 */
// Only the path helper: the package's main module would load the whole
// Swagger UI bundle into the server process.
import getAbsoluteFSPath from "swagger-ui-dist/absolute-path.js";
import { SwitchboardError } from "../protocol/errors.ts";

const ASSET_TYPES: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

/**
 * Dark mode for Swagger UI, which has no dark theme of its own: under
 * `prefers-color-scheme: dark` the page is inverted and hue-rotated back, and
 * images are inverted again so they keep their colours.
 */
const DARK_CSS = `:root { color-scheme: light dark; }
@media (prefers-color-scheme: dark) {
  html { background: #111; }
  body { filter: invert(0.92) hue-rotate(180deg); background: #fff; }
  img, svg image, .microlight { filter: invert(1) hue-rotate(180deg); }
}
`;

const INIT_JS = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    tryItOutEnabled: false,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
`;

/** The page itself. */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard API reference</title>
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
<meta name="color-scheme" content="light dark">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="stylesheet" href="docs/assets/dark.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
`;

/**
 * The page's Content-Security-Policy: everything from this origin only, so a
 * browser refuses any asset that is not served here.
 */
export const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' " +
  "'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** A served asset. */
export interface DocsAsset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

const cache = new Map<string, Promise<DocsAsset>>();

/** Reads one allowed asset (cached). Throws `not_found` for any other name. */
export function readDocsAsset(name: string): Promise<DocsAsset> {
  if (name === "init.js") {
    const body = new TextEncoder().encode(INIT_JS);
    return Promise.resolve({ body, type: "text/javascript; charset=utf-8" });
  }
  if (name === "dark.css") {
    return Promise.resolve({
      body: new TextEncoder().encode(DARK_CSS),
      type: "text/css; charset=utf-8",
    });
  }
  const type = Object.hasOwn(ASSET_TYPES, name) ? ASSET_TYPES[name] : undefined;
  if (type === undefined) {
    return Promise.reject(new SwitchboardError("not_found", `no docs asset ${name}`));
  }
  let asset = cache.get(name);
  if (!asset) {
    asset = Deno.readFile(`${getAbsoluteFSPath()}/${name}`).then((body) => ({ body, type }));
    asset.catch(() => cache.delete(name));
    cache.set(name, asset);
  }
  return asset;
}
