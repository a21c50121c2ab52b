/**
 * The browser for the viewer tests (test/viewer): Debian's /usr/bin/chromium driven by playwright-core,
 * headless, and the two ways the tests read a page: evaluating an expression, and polling one until it is true.
 * Expressions are strings: the host's type world has no DOM types.
 */
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 20_000 });
}

/** Evaluates an expression in the page. */
export function inPage<T = unknown>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/**
 * Polls an expression in the page until it is true (page.waitForFunction evaluates a string with eval, which
 * the pages' CSP forbids, as it should).
 */
export async function waitInPage(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await inPage<boolean>(page, expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting in the page for: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
