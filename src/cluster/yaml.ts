/**
 * Just enough YAML to write the generated config files: nested maps, lists, and scalars. Strings are always written
 * double-quoted (JSON's escaping is valid YAML), so no value can change type or break the document.
 */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function isCollection(v: YamlValue): v is YamlValue[] | { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}

function emptyCollection(v: YamlValue): string | null {
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) return '{}';
  return null;
}

function lines(value: YamlValue, indent: string): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item)) {
        const [first, ...rest] = lines(item, `${indent}  `);
        out.push(`${indent}- ${first.trimStart()}`, ...rest);
      } else out.push(`${indent}- ${emptyCollection(item) ?? scalar(item as string)}`);
    }
    return out;
  }
  for (const [key, v] of Object.entries(value as { [key: string]: YamlValue })) {
    if (isCollection(v)) out.push(`${indent}${key}:`, ...lines(v, `${indent}  `));
    else out.push(`${indent}${key}: ${emptyCollection(v) ?? scalar(v as string)}`);
  }
  return out;
}

/** The document for a map, with an optional comment header. */
export function toYaml(value: { [key: string]: YamlValue }, header?: string): string {
  const comment = header ? `${header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n')}\n` : '';
  return `${comment}${lines(value, '').join('\n')}\n`;
}
