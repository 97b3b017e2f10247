/**
 * Parses a YAML Blueprint body within bounds. The `yaml` package parses
 * synchronously, checks map keys pairwise (100,000 keys held the event loop for
 * 200 s) and recurses on nesting (a 100 kB body of `[` took 1.5 s to overflow the
 * stack). So a YAML body is capped at {@link MAX_YAML_BYTES}, its nesting is
 * counted before parsing, and duplicate keys are found in one pass.
 *
 * @module
 */
import YAML, { CST, isScalar, Parser } from "yaml";
import { SwitchboardError } from "../protocol/errors.ts";
import { MAX_JSON_DEPTH } from "../protocol/json.ts";

/** The largest YAML body (JSON Blueprints may be larger). */
export const MAX_YAML_BYTES = 64 * 1024;

const failed = (detail: string) =>
  new SwitchboardError("bad_request", `Failed to parse the request body as YAML: ${detail}`);

/**
 * Upper bounds of the nesting of a YAML text, in one pass: open flow brackets
 * plus the block indicators (`- `, `? `, `: `) that open a node on the same line
 * (`strict`); and the same with the indicators inside brackets counted once
 * (`loose`: in a flow collection, `a: 1` adds one level however many pairs the
 * line holds). Brackets in quoted text count too, which only errs on the safe side.
 */
function nestingBounds(text: string): { strict: number; loose: number } {
  let flow = 0;
  let line = 0;
  let blockLine = 0;
  let strict = 0;
  let loose = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) flow++; // [ {
    else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--; // ] }
    else if (c === 0x0a) line = blockLine = 0;
    else if (
      (c === 0x2d || c === 0x3f || c === 0x3a) && (text[i + 1] === " " || text[i + 1] === "\t")
    ) {
      line++; // - ? :
      if (flow === 0) blockLine++;
    }
    if (flow + line > strict) strict = flow + line;
    if (flow + blockLine + (flow > 0 ? 1 : 0) > loose) {
      loose = flow + blockLine + (flow > 0 ? 1 : 0);
    }
  }
  return { strict, loose };
}

/**
 * The nesting of a YAML text's collections, read from its syntax tree (the
 * `yaml` package's parser keeps a stack of its own, and this walk too: no
 * recursion). A pair inside a flow sequence (`[a: 1]`) is a map: one more level.
 */
function syntaxDepth(text: string): number {
  let worst = 0;
  const stack: Array<[CST.Token | null | undefined, number]> = [];
  for (const token of new Parser().parse(text)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token?.type === "document") stack.push([token.value, depth]);
    if (!CST.isCollection(token)) continue;
    const level = depth + 1;
    if (level > worst) worst = level;
    const seq = token.type === "flow-collection" && token.start.source === "[";
    for (const item of token.items) {
      const inner = seq && item.sep ? level + 1 : level;
      stack.push([item.key, inner], [item.value, inner]);
    }
  }
  return worst;
}

/**
 * True when a YAML text nests deeper than {@link MAX_JSON_DEPTH}. The bounds
 * decide most texts in one pass; a text between them (many pairs on one line of
 * a flow collection) is parsed to its syntax tree, which costs about what
 * parsing it costs anyway.
 */
function yamlTooDeep(text: string): boolean {
  const { strict, loose } = nestingBounds(text);
  if (strict <= MAX_JSON_DEPTH) return false;
  if (loose > MAX_JSON_DEPTH) return true;
  return syntaxDepth(text) > MAX_JSON_DEPTH;
}

/** Parses a YAML body into plain data, or throws a 400, 413 or 422 `SwitchboardError`. */
export function parseYamlBody(text: string): unknown {
  if (new TextEncoder().encode(text).length > MAX_YAML_BYTES) {
    throw new SwitchboardError(
      "too_large",
      `YAML body larger than ${MAX_YAML_BYTES} bytes (send larger Blueprints as JSON)`,
    );
  }
  if (yamlTooDeep(text)) {
    throw new SwitchboardError(
      "invalid",
      `blueprint parse: YAML nesting deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) throw failed(doc.errors[0].message);
  let duplicate: string | undefined;
  YAML.visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        const k = isScalar(key) ? key.value : key;
        if (seen.has(k)) {
          duplicate = String(k);
          return YAML.visit.BREAK;
        }
        seen.add(k);
      }
    },
  });
  if (duplicate !== undefined) throw failed(`Map keys must be unique: ${duplicate.slice(0, 100)}`);
  try {
    return doc.toJS({ maxAliasCount: 64 });
  } catch (err) {
    throw failed(err instanceof Error ? err.message : String(err));
  }
}
