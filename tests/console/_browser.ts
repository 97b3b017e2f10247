/**
 * Headless Chromium for the console tests (Debian's `chromium`, driven by
 * puppeteer-core). Outside CI a missing Chromium skips the browser tests with a
 * message; in CI (`CI=true`) it fails them.
 *
 * @module
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** Where screenshots go (gitignored). */
export const ARTIFACTS = new URL("../artifacts/", import.meta.url);

/** The Chromium executable on PATH, or null. */
export function findChromium(): string | null {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const out = new Deno.Command("which", { args: [name], stdout: "piped", stderr: "null" })
        .outputSync();
      const path = new TextDecoder().decode(out.stdout).trim();
      if (out.success && path) return path;
    } catch {
      // no `which`: treat as absent
    }
  }
  return null;
}

/** The executable, and whether the browser tests are skipped. */
export function browserSetup(): { executable: string | null; skip: boolean } {
  const executable = findChromium();
  const ci = Deno.env.get("CI") === "true";
  const skip = executable === null && !ci;
  if (skip) {
    console.warn(
      "console browser tests SKIPPED: no `chromium` on PATH (install it with " +
        "`apt-get install -y chromium`; with CI=true a missing chromium fails instead)",
    );
  }
  return { executable, skip };
}

/** Launches headless Chromium; throws a clear error when it is missing. */
export async function launch(executable: string | null): Promise<Browser> {
  if (executable === null) {
    throw new Error("chromium is not on PATH, and CI=true requires the browser tests to run");
  }
  return await puppeteer.launch({
    executablePath: executable,
    headless: true,
    // A hung page fails its test in seconds instead of three minutes.
    protocolTimeout: 20_000,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-dev-shm-usage",
      "--disable-gpu",
      // Tests drive two tabs at once: keep the one behind running at full speed.
      "--disable-background-timer-throttling",
      "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
    ],
  });
}

/** Saves a full-page screenshot as `tests/artifacts/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const path = new URL(`${name}.png`, ARTIFACTS);
  await page.evaluate("window.scrollTo(0, 0)"); // the sticky header belongs on top
  await page.screenshot({ path: path.pathname as `${string}.png`, fullPage: true });
}

/**
 * Collects uncaught page errors and console errors, to assert none happened. The
 * browser's own notes about 4xx answers and refused sockets are expected in tests
 * that provoke them, so they are left out.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() !== "error") return;
    if (text.startsWith("Failed to load resource") || text.startsWith("WebSocket connection")) {
      return;
    }
    errors.push(text);
  });
  return errors;
}

/** How long a page step may take. */
export const TIMEOUT = { timeout: 15_000 };

/** A new page at `url` (reduced motion, `width` × 900), with its errors watched. */
export async function openPage(
  browser: Browser,
  url: string,
  width = 1280,
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
  await page.setViewport({ width, height: 900 });
  await page.goto(url, { waitUntil: "load" });
  return { page, errors };
}

/** Mints a seat with `roles` through the page's form; resolves with its sid once joined. */
export async function mintInPage(page: Page, roles: string): Promise<string> {
  await page.waitForSelector("#mint-roles", TIMEOUT);
  await page.type("#mint-roles", roles);
  await page.click("#mint-form button[type=submit]");
  await page.waitForSelector('#conn[data-state="open"]', TIMEOUT);
  return await page.$eval("#seat-sid", (el) => el.textContent ?? "");
}

/** The text of the first element matching `selector`. */
export function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => (el as unknown as { textContent: string }).textContent ?? "");
}
