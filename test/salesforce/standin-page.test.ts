/**
 * The stand-in's root page in headless Chromium (Debian's, through playwright-core): Events with their status and
 * reason fields, owner and Who/What, then Leads and Contacts, each newest first, as the real sync activity wrote them;
 * every value escaped, so a customer's text cannot run as markup.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import type { SalesforceStandin } from '../../src/salesforce/standin/server';
import { escapeHtml } from '../../src/salesforce/standin/page';
import { booking, lifecycleEvent, page as bookingPage } from './fixtures';
import { activitiesFor, ALICE_USER_ID, BOB_USER_ID, INTEGRATION_USER_ID, startTestStandin } from './helpers';

let sf: SalesforceStandin;
let browser: Browser;
let tab: Page;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  sf = await startTestStandin();
  tab = await browser.newPage();
});
afterEach(async () => {
  await tab?.close();
  await sf?.stop();
});

/** The cells of a section's body rows, as the browser renders them (innerText). */
async function rows(section: 'events' | 'leads' | 'contacts'): Promise<string[][]> {
  return tab.locator(`#${section} tbody tr`).evaluateAll((trs) =>
    // Runs in the page (no DOM types here: the project's lib is ES2022 only).
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td as unknown as { innerText: string }).innerText.replace(/\s+/g, ' ').trim())),
  );
}

test('an empty org says so', async () => {
  const res = await tab.goto(sf.url);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
  expect(await tab.title()).toBe('Salesforce stand-in');
  for (const s of ['events', 'leads', 'contacts'] as const) expect(await rows(s)).toEqual([['None yet']]);
});

test('lists what the sync wrote: Events with status, reason, owner and Who/What, then Leads and Contacts, newest first', async () => {
  const sync = activitiesFor(sf);
  // A first booking creates its Lead and Event, then is canceled with a reason.
  const first = booking({ subject: 'Intro call' });
  await sync.syncActivityEvent({ bookingId: first.id, event: lifecycleEvent('booking.scheduled', first) });
  const canceled = { ...first, cancel_reschedule_information: { reason: 'Double-booked', actioned_by: 'customer' as const, user_id: null } };
  await sync.syncActivityEvent({ bookingId: first.id, event: lifecycleEvent('booking.canceled', canceled) });
  // A second one, owned by Bob, relates to a Contact.
  const contactPage = bookingPage({ relate_to: 'contact' });
  const second = booking({
    subject: 'Follow-up',
    owner: { id: 'USR-bob', name: 'Bob Other', email: 'bob@example.com', timezone: 'America/New_York' },
    form_submission: { name: 'Dave Buyer', email: 'dave@example.com' },
  });
  await sync.syncActivityEvent({ bookingId: second.id, event: lifecycleEvent('booking.scheduled', second, { page: contactPage }) });

  await tab.goto(sf.url);
  const [ev2, ev1] = sf.records('Event').reverse();
  const [lead] = sf.records('Lead');
  const [contact] = sf.records('Contact');
  expect(await rows('events')).toEqual([
    [
      `Follow-up ${ev2.Id}`,
      'Scheduled',
      '',
      String(ev2.StartDateTime),
      String(ev2.EndDateTime),
      `User: Bob Other <bob@example.com> ${BOB_USER_ID}`,
      `Contact: Dave Buyer <dave@example.com> ${contact.Id}`,
      '',
      second.id,
      String(ev2.LastModifiedDate),
    ],
    [
      `Intro call ${ev1.Id}`,
      'Canceled',
      'Double-booked',
      String(ev1.StartDateTime),
      String(ev1.EndDateTime),
      `User: Alice Owner <Alice@Example.com> ${ALICE_USER_ID}`,
      `Lead: Carol Ann Customer <carol@example.com> ${lead.Id}`,
      '',
      first.id,
      String(ev1.LastModifiedDate),
    ],
  ]);
  // The connector creates Leads and Contacts as the integration user.
  const owner = (id: unknown) => {
    const u = sf.records('User').find((x) => x.Id === id);
    return `User: ${String(u?.Name)} <${String(u?.Email)}> ${String(id)}`;
  };
  expect(await rows('leads')).toEqual([[`Carol Ann Customer ${lead.Id}`, 'Acme', 'carol@example.com', '+33 1 23 45 67 89', owner(lead.OwnerId), String(lead.CreatedDate)]]);
  expect(await rows('contacts')).toEqual([[`Dave Buyer ${contact.Id}`, 'dave@example.com', '', owner(contact.OwnerId), String(contact.CreatedDate)]]);
  expect(owner(lead.OwnerId)).toBe(`User: Integration <integration@example.com> ${INTEGRATION_USER_ID}`);

  // Newest first across more records too, and the page follows the org: a reload shows what changed.
  sf.seed('Lead', { LastName: 'Newer', Company: 'Beta', Email: 'newer@example.com' });
  await tab.reload();
  expect((await rows('leads')).map((r) => r[0].split(' ')[0])).toEqual(['Newer', 'Carol']);
});

test('escapes every value: markup in records shows as text and nothing runs', async () => {
  const evil = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"'&`;
  const contactId = sf.seed('Contact', { LastName: evil, Email: 'x@example.com' });
  sf.seed('Event', { Subject: evil, Event_Status__c: `<b>bold</b>`, Cancel_Reschedule_Reason__c: evil, WhoId: contactId, Booking_Id__c: `"><svg onload=alert(1)>` });
  let dialogs = 0;
  tab.on('dialog', (d) => {
    dialogs++;
    void d.dismiss();
  });
  await tab.goto(sf.url);
  expect(await tab.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(await tab.locator('img, script, svg, b').count()).toBe(0);
  expect(dialogs).toBe(0);
  const [ev] = await rows('events');
  expect(ev[0]).toContain(evil);
  expect(ev[1]).toBe('<b>bold</b>');
  expect(ev[2]).toBe(evil);
  expect(ev[6]).toContain(`Contact: ${evil} <x@example.com>`);
  expect(ev[8]).toBe(`"><svg onload=alert(1)>`);
  expect(escapeHtml(evil)).toBe('&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;&lt;script&gt;window.__xss=2&lt;/script&gt;&quot;&#39;&amp;');
});

test('HEAD answers without a body; the REST API beside it is unchanged', async () => {
  const head = await fetch(sf.url, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(await head.text()).toBe('');
  const versions = await fetch(`${sf.url}/services/data`);
  expect(await versions.json()).toEqual([{ label: 'Stand-in', url: '/services/data/v62.0', version: '62.0' }]);
  const other = await fetch(`${sf.url}/nothing-here`);
  expect(other.status).toBe(404);
});
