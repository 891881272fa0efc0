/** The booking as people and receivers read it: the complete form, times in a zone, the summary and the details. */
import { bookingDetails, bookingSummary } from '../../src/domain/booking/booking-object';
import { completeFormSubmission, localSpan, localTime, subjectNamesOwner } from '../../src/domain/booking/presentation';
import { initialState } from '../../src/domain/booking/state-machine';
import { alice, bookingInput } from '../fixtures/bookings';

test('completeFormSubmission lists every field in the spec order, null or [] when empty, and keeps what was filled', () => {
  const f = completeFormSubmission({ name: 'Carol', email: 'c@example.com', note: 'hi', guests: ['g@example.com'] });
  expect(Object.keys(f)).toEqual(['name', 'email', 'phone', 'mobile_phone', 'company', 'note', 'guests', 'custom_fields']);
  expect(f).toEqual({ name: 'Carol', email: 'c@example.com', phone: null, mobile_phone: null, company: null, note: 'hi', guests: ['g@example.com'], custom_fields: [] });
  expect(completeFormSubmission(f)).toEqual(f);
});

test.each([
  ['2026-12-08T10:00:00Z', 'Europe/Paris', 'Tue 8 Dec 2026, 11:00 Europe/Paris (UTC+1)'],
  ['2026-07-08T10:00:00Z', 'Europe/Paris', 'Wed 8 Jul 2026, 12:00 Europe/Paris (UTC+2)'],
  ['2026-12-08T10:00:00Z', 'America/New_York', 'Tue 8 Dec 2026, 05:00 America/New_York (UTC-5)'],
  ['2026-12-08T20:00:00Z', 'Asia/Kolkata', 'Wed 9 Dec 2026, 01:30 Asia/Kolkata (UTC+5:30)'],
  ['2026-12-08T10:00:00Z', 'UTC', 'Tue 8 Dec 2026, 10:00 UTC (UTC)'],
  ['2026-12-08T10:00:00Z', 'Not/AZone', 'Tue 8 Dec 2026, 10:00 UTC (UTC)'],
  ['2026-09-30T23:59:00Z', 'Pacific/Kiritimati', 'Thu 1 Oct 2026, 13:59 Pacific/Kiritimati (UTC+14)'],
  ['2026-09-08T00:00:00Z', 'Europe/London', 'Tue 8 Sep 2026, 01:00 Europe/London (UTC+1)'],
])('localTime(%s, %s) reads %s', (iso, tz, expected) => {
  expect(localTime(iso, tz)).toBe(expected);
});

test('localSpan gives the end time alone on the same day, the whole date when it falls on the next one', () => {
  expect(localSpan('2026-12-08T10:00:00Z', '2026-12-08T10:30:00Z', 'Europe/London')).toBe('Tue 8 Dec 2026, 10:00 → 10:30 Europe/London (UTC)');
  expect(localSpan('2026-12-08T22:30:00Z', '2026-12-08T23:30:00Z', 'Europe/Paris')).toBe('Tue 8 Dec 2026, 23:30 → Wed 9 Dec 2026, 00:30 Europe/Paris (UTC+1)');
  // Across a clock change the offset is shown at both ends.
  expect(localSpan('2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z', 'Europe/London')).toBe('Sun 29 Mar 2026, 00:30 → 02:30 Europe/London (UTC → UTC+1)');
});

test('subjectNamesOwner ignores case and needs a name', () => {
  expect(subjectNamesOwner('probe with Probe', 'Probe')).toBe(true);
  expect(subjectNamesOwner('Intro call with alice owner', 'Alice Owner')).toBe(true);
  expect(subjectNamesOwner('Intro call', 'Alice Owner')).toBe(false);
  expect(subjectNamesOwner('Intro call', ' ')).toBe(false);
});

describe('summary and details', () => {
  const now = Date.parse('2026-12-01T09:00:00Z');
  const input = bookingInput({ now, startInMs: 25 * 3600_000, subject: 'Intro call with Alice Owner', owner: { ...alice, timezone: 'America/Los_Angeles' } });
  const state = initialState(input, now).state;

  test('the summary names the owner once and gives the start in their zone and in UTC', () => {
    expect(bookingSummary(state)).toBe('Intro call with Alice Owner at Wed 2 Dec 2026, 02:00 America/Los_Angeles (UTC-8) (2026-12-02T10:00:00.000Z) · Scheduled (By customer)');
    const other = initialState({ ...input, subject: 'Intro call' }, now).state;
    expect(bookingSummary(other)).toMatch(/^Intro call with Alice Owner at Wed 2 Dec 2026, 02:00 /);
  });

  test("the details show the meeting in the owner's zone and in UTC; without the patch, exactly as before", () => {
    const details = bookingDetails(state, { salesforce: 'disabled', ignored: 0 });
    expect(details).toContain(
      "Meeting: Wed 2 Dec 2026, 02:00 → 02:30 America/Los_Angeles (UTC-8) · UTC 2026-12-02T10:00:00.000Z → 2026-12-02T10:30:00.000Z · customer's zone Europe/Paris",
    );
    const before = bookingDetails(state, { salesforce: 'disabled', ignored: 0, localTimes: false });
    expect(before.split('\n\n')).toEqual([
      `**${input.bookingId}** · scheduled · Scheduled (By customer)`,
      'Owner: Alice Owner <alice@example.com> · Page: Intro call (BP-auto, automatic)',
      'Meeting: 2026-12-02T10:00:00.000Z → 2026-12-02T10:30:00.000Z (Europe/Paris)',
      'Customer: Carol Customer <carol@example.com>',
      'Salesforce: disabled',
    ]);
  });
});
