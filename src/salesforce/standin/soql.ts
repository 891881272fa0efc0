/**
 * A small SOQL parser for the queries the connector sends:
 * `SELECT f[, f…] FROM Obj [WHERE F = v [AND F2 != v2 …]] [ORDER BY F [ASC|DESC][, …]] [LIMIT n]`, where v
 * is a quoted string (with \' and \\ escapes), true, false, null or a number. Anything else is
 * MALFORMED_QUERY, as Salesforce would answer for a query it cannot parse.
 */

export type SoqlValue = string | number | boolean | null;

/** A parsed query. */
export interface SoqlQuery {
  fields: string[];
  object: string;
  where: { field: string; op: '=' | '!='; value: SoqlValue }[];
  orderBy: { field: string; dir: 'ASC' | 'DESC' }[];
  limit: number | null;
}

/** A query the parser rejects. */
export class SoqlSyntaxError extends Error {
  readonly errorCode = 'MALFORMED_QUERY';
}

type Token = { kind: 'word'; text: string } | { kind: 'string'; text: string } | { kind: 'number'; value: number } | { kind: 'punct'; text: string };

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= soql.length) throw new SoqlSyntaxError(`unexpected end of query: unterminated string`);
        const d = soql[i];
        if (d === '\\') {
          const e = soql[i + 1];
          const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\', _: '\\_', '%': '\\%' };
          if (e === undefined || !(e in map)) throw new SoqlSyntaxError(`Invalid string literal: illegal escape sequence \\${e ?? ''}`);
          text += map[e];
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          text += d;
          i++;
        }
      }
      tokens.push({ kind: 'string', text });
    } else if (/[0-9-]/.test(c) && /[0-9]/.test(soql[i + (c === '-' ? 1 : 0)] ?? '')) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(soql.slice(i));
      tokens.push({ kind: 'number', value: Number(m![0]) });
      i += m![0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(soql.slice(i));
      tokens.push({ kind: 'word', text: m![0] });
      i += m![0].length;
    } else if (c === '!' && soql[i + 1] === '=') {
      tokens.push({ kind: 'punct', text: '!=' });
      i += 2;
    } else if (c === ',' || c === '=') {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else {
      throw new SoqlSyntaxError(`unexpected token: '${c}'`);
    }
  }
  return tokens;
}

/** Parses the supported subset of SOQL; throws SoqlSyntaxError otherwise. */
export function parseSoql(soql: string): SoqlQuery {
  const t = tokenize(soql);
  let p = 0;
  const peekWord = (w: string) => t[p]?.kind === 'word' && (t[p] as { text: string }).text.toUpperCase() === w;
  const describe = (tok: Token | undefined) =>
    tok === undefined ? 'end of query' : tok.kind === 'number' ? String(tok.value) : tok.kind === 'string' ? `'${tok.text}'` : tok.text;
  const expectWord = (w: string) => {
    if (!peekWord(w)) throw new SoqlSyntaxError(`unexpected token: ${describe(t[p])}, expecting ${w}`);
    p++;
  };
  const identifier = (): string => {
    const tok = t[p];
    const reserved = ['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'ORDER', 'BY', 'LIMIT', 'ASC', 'DESC'];
    if (tok?.kind !== 'word' || reserved.includes(tok.text.toUpperCase())) {
      throw new SoqlSyntaxError(`unexpected token: ${describe(tok)}`);
    }
    p++;
    return tok.text;
  };

  expectWord('SELECT');
  const fields = [identifier()];
  while (t[p]?.kind === 'punct' && (t[p] as { text: string }).text === ',') {
    p++;
    fields.push(identifier());
  }
  expectWord('FROM');
  const object = identifier();

  const where: SoqlQuery['where'] = [];
  if (peekWord('WHERE')) {
    p++;
    for (;;) {
      const field = identifier();
      const op = t[p];
      if (op?.kind !== 'punct' || (op.text !== '=' && op.text !== '!=')) {
        throw new SoqlSyntaxError(`unexpected token: ${describe(op)}, expecting = or !=`);
      }
      p++;
      const v = t[p];
      let value: SoqlValue;
      if (v?.kind === 'string') value = v.text;
      else if (v?.kind === 'number') value = v.value;
      else if (v?.kind === 'word' && /^(true|false|null)$/i.test(v.text)) {
        value = v.text.toLowerCase() === 'null' ? null : v.text.toLowerCase() === 'true';
      } else throw new SoqlSyntaxError(`unexpected token: ${describe(v)}`);
      p++;
      where.push({ field, op: op.text as '=' | '!=', value });
      if (peekWord('AND')) {
        p++;
        continue;
      }
      if (peekWord('OR')) throw new SoqlSyntaxError('OR is not supported by the stand-in');
      break;
    }
  }

  const orderBy: SoqlQuery['orderBy'] = [];
  if (peekWord('ORDER')) {
    p++;
    expectWord('BY');
    for (;;) {
      const field = identifier();
      let dir: 'ASC' | 'DESC' = 'ASC';
      if (peekWord('ASC') || peekWord('DESC')) {
        dir = (t[p] as { text: string }).text.toUpperCase() as 'ASC' | 'DESC';
        p++;
      }
      orderBy.push({ field, dir });
      if (t[p]?.kind === 'punct' && (t[p] as { text: string }).text === ',') {
        p++;
        continue;
      }
      break;
    }
  }

  let limit: number | null = null;
  if (peekWord('LIMIT')) {
    p++;
    const n = t[p];
    if (n?.kind !== 'number' || !Number.isInteger(n.value) || n.value < 0) {
      throw new SoqlSyntaxError(`unexpected token: ${describe(n)}, expecting a LIMIT value`);
    }
    limit = n.value;
    p++;
  }
  if (p !== t.length) throw new SoqlSyntaxError(`unexpected token: ${describe(t[p])}`);
  return { fields, object, where, orderBy, limit };
}
