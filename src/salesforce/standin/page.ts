/**
 * The stand-in's root page: what the org holds, for a person watching the sync happen. Events (subject, times, the
 * Event status and Cancel/reschedule reason fields, owner, Who/What, booking id), then Leads and Contacts, each newest
 * first. Every value is HTML-escaped (record fields come from bookings, i.e. from customers). No script; it reloads
 * itself every few seconds.
 */
import type { StandinObjectType } from './schema';

type Row = Record<string, unknown> & { Id: string };

/** What the page reads: the live records of a type, in creation order. */
export type RecordSource = (type: StandinObjectType) => Row[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  const s = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const newestFirst = (rows: Row[]) =>
  rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => String(b.r.CreatedDate ?? '').localeCompare(String(a.r.CreatedDate ?? '')) || b.i - a.i)
    .map(({ r }) => r);

const personName = (r: Row | undefined) => (r ? [r.FirstName, r.LastName].filter(Boolean).join(' ') || String(r.Name ?? '') : '');

/** A cell: escaped text, and the record id beneath it when it names a record. */
function cell(text: unknown, id?: unknown, cls?: string): string {
  const idLine = id ? `<div class="id">${escapeHtml(id)}</div>` : '';
  return `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}${idLine}</td>`;
}

function table(title: string, anchor: string, headers: string[], rows: string[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.length ? rows.join('\n') : `<tr><td colspan="${headers.length}" class="empty">None yet</td></tr>`;
  return `<section id="${anchor}"><h2>${escapeHtml(title)} <span class="count">${rows.length}</span></h2>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></section>`;
}

/** The whole page. `refreshSeconds` 0 leaves the reload out. */
export function renderRecordsPage(records: RecordSource, opts: { refreshSeconds?: number; now?: Date } = {}): string {
  const byId = new Map<string, Row>();
  for (const type of ['User', 'Lead', 'Contact', 'Case'] as const) for (const r of records(type)) byId.set(r.Id.slice(0, 15), r);
  const find = (id: unknown) => (typeof id === 'string' && id ? byId.get(id.slice(0, 15)) : undefined);
  const describe = (id: unknown) => {
    const r = find(id);
    if (!r) return '';
    const kind = r.Id.startsWith('00Q') ? 'Lead' : r.Id.startsWith('003') ? 'Contact' : r.Id.startsWith('500') ? 'Case' : 'User';
    const label = kind === 'Case' ? `Case ${String(r.CaseNumber ?? '')} ${String(r.Subject ?? '')}`.trim() : `${kind}: ${personName(r) || String(r.Email ?? '')}`;
    return r.Email && kind !== 'Case' ? `${label} <${String(r.Email)}>` : label;
  };

  const events = newestFirst(records('Event')).map(
    (e) => `<tr data-id="${escapeHtml(e.Id)}">${[
      cell(e.Subject, e.Id),
      cell(e.Event_Status__c, undefined, 'status'),
      cell(e.Cancel_Reschedule_Reason__c, undefined, 'reason'),
      cell(e.StartDateTime),
      cell(e.EndDateTime),
      cell(describe(e.OwnerId) || e.OwnerId, e.OwnerId),
      cell(describe(e.WhoId), e.WhoId),
      cell(describe(e.WhatId), e.WhatId),
      cell(e.Booking_Id__c),
      cell(e.LastModifiedDate),
    ].join('')}</tr>`,
  );
  const leads = newestFirst(records('Lead')).map(
    (l) => `<tr data-id="${escapeHtml(l.Id)}">${[cell(personName(l), l.Id), cell(l.Company), cell(l.Email), cell(l.Phone), cell(describe(l.OwnerId), l.OwnerId), cell(l.CreatedDate)].join('')}</tr>`,
  );
  const contacts = newestFirst(records('Contact')).map(
    (c) => `<tr data-id="${escapeHtml(c.Id)}">${[cell(personName(c), c.Id), cell(c.Email), cell(c.Phone), cell(describe(c.OwnerId), c.OwnerId), cell(c.CreatedDate)].join('')}</tr>`,
  );
  const refresh = opts.refreshSeconds ?? 5;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
${refresh > 0 ? `<meta http-equiv="refresh" content="${refresh}">` : ''}
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Salesforce stand-in</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2733}h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d5dbe1;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f7}.id{color:#6b7785;font:12px ui-monospace,monospace}.count{color:#6b7785;font-weight:normal}
.empty{color:#6b7785;font-style:italic}.status{font-weight:600}
</style></head><body>
<h1>Salesforce stand-in</h1>
<p>What the engine has written to this in-memory org, newest first${refresh > 0 ? `; the page reloads every ${refresh} s` : ''}. Records vanish when the stand-in stops.</p>
${table('Events', 'events', ['Subject', 'Event status', 'Cancel/reschedule reason', 'Start', 'End', 'Owner', 'Who', 'What', 'Booking id', 'Last modified'], events)}
${table('Leads', 'leads', ['Name', 'Company', 'Email', 'Phone', 'Owner', 'Created'], leads)}
${table('Contacts', 'contacts', ['Name', 'Email', 'Phone', 'Owner', 'Created'], contacts)}
</body></html>
`;
}
