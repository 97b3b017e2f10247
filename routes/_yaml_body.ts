/**
 * Parses a YAML Blueprint body within bounds. The `yaml` package parses
 * synchronously, checks map keys pairwise (100,000 keys held the event loop for
 * 200 s) and recurses on nesting (a 100 kB body of `[` took 1.5 s to overflow the
 * stack). So a YAML body is capped at {@link MAX_YAML_BYTES}, its nesting is
 * counted before parsing, and duplicate keys are found in one pass.
 *
 * @module
 */
import YAML, { isScalar } from "yaml";
import { SwitchboardError } from "../protocol/errors.ts";
import { MAX_JSON_DEPTH } from "../protocol/json.ts";

/** The largest YAML body (JSON Blueprints may be larger). */
export const MAX_YAML_BYTES = 64 * 1024;

const failed = (detail: string) =>
  new SwitchboardError("bad_request", `Failed to parse the request body as YAML: ${detail}`);

/**
 * An upper bound of the nesting of a YAML text: open flow brackets, plus the block
 * indicators (`- `, `? `, `: `) that open a node on the same line. Brackets in
 * quoted text count too, which only errs on the safe side.
 */
function nestingBound(text: string): number {
  let flow = 0;
  let worst = 0;
  let line = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) flow++; // [ {
    else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--; // ] }
    else if (c === 0x0a) line = 0;
    else if (
      (c === 0x2d || c === 0x3f || c === 0x3a) && (text[i + 1] === " " || text[i + 1] === "\t")
    ) {
      line++; // - ? :
    }
    if (flow + line > worst) worst = flow + line;
  }
  return worst;
}

/** Parses a YAML body into plain data, or throws a 400, 413 or 422 `SwitchboardError`. */
export function parseYamlBody(text: string): unknown {
  if (new TextEncoder().encode(text).length > MAX_YAML_BYTES) {
    throw new SwitchboardError(
      "too_large",
      `YAML body larger than ${MAX_YAML_BYTES} bytes (send larger Blueprints as JSON)`,
    );
  }
  if (nestingBound(text) > MAX_JSON_DEPTH) {
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
