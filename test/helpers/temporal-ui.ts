/**
 * The Temporal Web UI in headless Chromium, as a user finds a booking there: the workflow list filtered by a visibility
 * query, the booking's row, its page opened and a text of its summary waited for. CHROMIUM_PATH, else
 * /usr/bin/chromium.
 */
import { chromium } from 'playwright-core';

export async function openBookingInUi(opts: {
  uiUrl: string;
  namespace: string;
  /** A list query, e.g. `BookingStatus="scheduled"`. */
  query: string;
  bookingId: string;
  /** A text the booking's page shows (its summary's detailed status). */
  expectText: string;
  screenshotPath: string;
  timeoutMs?: number;
}): Promise<void> {
  const timeout = opts.timeoutMs ?? 30_000;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage();
    await tab.goto(`${opts.uiUrl}/namespaces/${opts.namespace}/workflows?query=${encodeURIComponent(opts.query)}`);
    await tab.getByText(opts.bookingId).first().waitFor({ timeout });
    await tab.locator(`a[href*="/workflows/${opts.bookingId}/"]`).first().click();
    await tab.getByText(opts.expectText).first().waitFor({ timeout });
    await tab.screenshot({ path: opts.screenshotPath });
  } finally {
    await browser.close();
  }
}
