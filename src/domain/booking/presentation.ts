/**
 * How a booking reads to people and receivers: the form with every field, and meeting times in a time zone as a
 * person reads them. Pure and deterministic (Intl with an explicit instant and zone), so workflows use it too.
 */
import type { CompleteFormSubmission, FormSubmission } from '../../shared/booking-contract';

/** Every field lifecycle.md lists, in its order; `null` (or `[]` for lists) for what the customer left empty. */
export function completeFormSubmission(f: FormSubmission): CompleteFormSubmission {
  return {
    name: f.name,
    email: f.email,
    phone: f.phone ?? null,
    mobile_phone: f.mobile_phone ?? null,
    company: f.company ?? null,
    note: f.note ?? null,
    guests: f.guests ?? [],
    custom_fields: f.custom_fields ?? [],
  };
}

const formats = new Map<string, Intl.DateTimeFormat | null>();

function formatFor(timeZone: string): Intl.DateTimeFormat | null {
  if (!formats.has(timeZone)) {
    let f: Intl.DateTimeFormat | null = null;
    try {
      // Numbers only: names and punctuation come from here, not from ICU, whose wording differs between versions
      // and locales ("Sep"/"Sept", "GMT"/"GMT+0").
      f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
    } catch {
      // Not a zone this runtime knows: callers fall back to UTC.
    }
    formats.set(timeZone, f);
  }
  return formats.get(timeZone) ?? null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const two = (n: number) => String(n).padStart(2, '0');

interface WallClock {
  weekday: string;
  day: number;
  month: string;
  year: number;
  hour: string;
  minute: string;
  /** `UTC`, `UTC+1`, `UTC-5`, `UTC+5:30`. */
  offset: string;
}

/** The wall clock of an instant in a zone, or null for an unknown zone or a bad instant. */
function partsIn(iso: string, timeZone: string): WallClock | null {
  const f = formatFor(timeZone);
  const t = Date.parse(iso);
  if (!f || Number.isNaN(t)) return null;
  const n: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(t))) if (p.type !== 'literal') n[p.type] = Number(p.value);
  const hour = n.hour % 24;
  const wall = Date.UTC(n.year, n.month - 1, n.day, hour, n.minute);
  const offset = Math.round((wall - (t - (t % 60_000))) / 60_000);
  const abs = Math.abs(offset);
  return {
    weekday: WEEKDAYS[new Date(Date.UTC(n.year, n.month - 1, n.day)).getUTCDay()],
    day: n.day,
    month: MONTHS[n.month - 1],
    year: n.year,
    hour: two(hour),
    minute: two(n.minute),
    offset: offset === 0 ? 'UTC' : `UTC${offset < 0 ? '-' : '+'}${Math.floor(abs / 60)}${abs % 60 ? `:${two(abs % 60)}` : ''}`,
  };
}

/**
 * An instant as a person in `timeZone` reads it: `Tue 8 Dec 2026, 11:00 Europe/Paris (UTC+1)`. Built from the
 * parts, not Intl's own punctuation, so it reads the same on every Node/ICU version. An unknown zone gives UTC.
 */
export function localTime(iso: string, timeZone: string): string {
  const zone = formatFor(timeZone) ? timeZone : 'UTC';
  const p = partsIn(iso, zone);
  if (!p) return iso;
  return `${p.weekday} ${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute} ${zone} (${p.offset})`;
}

/**
 * A meeting's span in one zone: `Tue 8 Dec 2026, 11:00 → 11:30 Europe/Paris (UTC+1)`; the end's date is repeated only
 * when it falls on another day there.
 */
export function localSpan(startIso: string, endIso: string, timeZone: string): string {
  const zone = formatFor(timeZone) ? timeZone : 'UTC';
  const s = partsIn(startIso, zone);
  const e = partsIn(endIso, zone);
  if (!s || !e) return `${startIso} → ${endIso}`;
  const sameDay = s.day === e.day && s.month === e.month && s.year === e.year;
  const end = sameDay ? `${e.hour}:${e.minute}` : `${e.weekday} ${e.day} ${e.month} ${e.year}, ${e.hour}:${e.minute}`;
  const offset = s.offset === e.offset ? s.offset : `${s.offset} → ${e.offset}`;
  return `${s.weekday} ${s.day} ${s.month} ${s.year}, ${s.hour}:${s.minute} → ${end} ${zone} (${offset})`;
}

/** Whether a subject already names the owner (`Intro with Alice`), so a summary need not say `with Alice` again. */
export function subjectNamesOwner(subject: string, ownerName: string): boolean {
  const name = ownerName.trim().toLowerCase();
  return name.length > 0 && subject.toLowerCase().includes(name);
}
