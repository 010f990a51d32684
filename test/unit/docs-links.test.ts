import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Docs a reader follows must lead somewhere: every relative link and #anchor resolves, and every
// "README › Section" reference in the code and docs names a heading that exists.

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'bench/README.md',
  'lib/cli/README.md',
  'test/testbed/crds/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function headings(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));
}

function links(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^[a-z]+:/.test(target));
}

describe('documentation links', () => {
  it.each(DOCS)('every relative link and anchor in %s resolves', (doc) => {
    const from = join(ROOT, doc);
    const broken = links(from).filter((target) => {
      const [path, anchor] = target.split('#');
      const file = path ? join(dirname(from), path) : from;
      if (!existsSync(file)) return true;
      return anchor !== undefined && file.endsWith('.md') && !headings(file).has(anchor);
    });

    expect(broken, relative(ROOT, from)).toEqual([]);
  });

  it('every "README › Section" or "docs/file.md › Section" reference names a heading there', () => {
    const files = [
      ...DOCS,
      '.ci/run',
      ...['lib', 'functions', 'infra', 'test'].flatMap((dir) =>
        listTs(join(ROOT, dir)).map((p) => relative(ROOT, p)),
      ),
    ].filter((file) => file !== relative(ROOT, import.meta.filename));
    const missing = files.flatMap((file) =>
      [
        ...readFileSync(join(ROOT, file), 'utf8').matchAll(
          /(README|docs\/[a-z-]+\.md) › ([A-Z][A-Za-z0-9 -]*[A-Za-z0-9])/g,
        ),
      ]
        .filter((m) => {
          const doc = m[1] === 'README' ? 'README.md' : (m[1] ?? '');
          if (!existsSync(join(ROOT, doc))) return true;
          // A reference may shorten a long heading to its start ("Units of work" for "Units of work: …").
          return ![...headings(join(ROOT, doc))].some((heading) => heading.startsWith(slug(m[2] ?? '')));
        })
        .map((m) => `${file}: ${m[0]}`),
    );

    expect(missing).toEqual([]);
  });
});

function listTs(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return listTs(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}
