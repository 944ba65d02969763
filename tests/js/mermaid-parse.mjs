// Parses Mermaid files with the real Mermaid parser (the npm `mermaid` package) under Node, and
// prints what it read from each, one JSON object a line, for tests/draw.rs to compare with what
// topolint meant to draw.
//
//   node tests/js/mermaid-parse.mjs FILE...
//
// Exit code 0 when every file parses, 1 otherwise. Mermaid cleans labels with DOMPurify, which
// needs a DOM: jsdom gives it one, so no browser is downloaded or run.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
const version = createRequire(import.meta.url)('mermaid/package.json').version;

// Mermaid keeps `#34;`-style entities in a private encoding until it renders; decode them, so that
// the texts printed are what a reader sees.
const named = { quot: '"', amp: '&', lt: '<', gt: '>', nbsp: '\u00a0' };
const decode = (text) =>
  typeof text !== 'string'
    ? text
    : text
        .replace(/\ufb02\u00b0\u00b0(\d+)\u00b6\u00df/g, (_, n) => String.fromCodePoint(Number(n)))
        .replace(/\ufb02\u00b0(\w+)\u00b6\u00df/g, (m, n) => named[n] ?? m);

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const text = readFileSync(file, 'utf8');
    const parsed = await mermaid.parse(text);
    if (parsed.diagramType !== 'flowchart-v2') {
      throw new Error(`read as a ${parsed.diagramType} diagram, not a flowchart`);
    }
    const { db } = await mermaid.mermaidAPI.getDiagramFromText(text);
    const vertices = [...db.getVertices().values()].map((v) => ({
      id: v.id,
      shape: v.type,
      text: decode(v.text),
      classes: v.classes,
    }));
    const edges = db.getEdges().map((e) => ({
      from: e.start,
      to: e.end,
      stroke: e.stroke,
      text: decode(e.text),
      style: e.style ?? [],
    }));
    const subgraphs = db.getSubGraphs().map((s) => ({ id: s.id, title: decode(s.title), nodes: s.nodes }));
    console.log(JSON.stringify({ file, ok: true, mermaid: version, vertices, edges, subgraphs }));
  } catch (e) {
    failed += 1;
    console.log(JSON.stringify({ file, ok: false, mermaid: version, error: String(e?.message ?? e) }));
  }
}
process.exit(failed ? 1 : 0);
