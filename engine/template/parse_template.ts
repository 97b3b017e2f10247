/**
 * The parser of the template subset (reference/blueprint.md §3.4). Expressions
 * inside tags go through the shared expression parser of engine/expr.
 *
 * @module
 */
import type { ExprNode } from "../../protocol/blueprint.ts";
import { exceedsBytes, ExprError, type ExprFilter, parseEmbeddedExpr } from "../expr/mod.ts";
import { TemplateError } from "./template_error.ts";

/** The longest accepted template source, in UTF-8 bytes. */
export const MAX_TEMPLATE_BYTES = 256 * 1024;
/**
 * The deepest nesting of `if` and `for` blocks. The parser and the renderer
 * recurse per level: 14,000 nested `if`s overflowed the stack (a 500 on
 * `POST /v1/blueprints/:id`).
 */
export const MAX_BLOCK_DEPTH = 64;

/** A parsed template node. */
export type TemplateNode =
  | { type: "text"; text: string }
  | { type: "output"; expr: ExprNode; filters: ExprFilter[] }
  | { type: "if"; branches: { cond: ExprNode; body: TemplateNode[] }[]; otherwise: TemplateNode[] }
  | { type: "for"; name: string; items: ExprNode; body: TemplateNode[] };

const FILTERS = new Set(["upper", "lower", "trim", "length", "tojson", "default"]);
const TAG_NAME = /\s*([\p{L}_][\p{L}\p{N}_]*)/uy;
const TAG_END = /\s*(-?)%\}/y;
const FOR_HEAD = /\s+([\p{L}_][\p{L}\p{N}_]*)\s+in(?![\p{L}\p{N}_])/uy;
const ENDRAW = /\{%(-?)\s*endraw\s*(-?)%\}/g;
const OPENERS = /\{[{%#]/g;

// A flat item before blocks are built: text, or a tag with its strip flags.
type Strip = { pos: number; lstrip: boolean; rstrip: boolean };
type Tag =
  | Strip & { kind: "output"; expr: ExprNode; filters: ExprFilter[] }
  | Strip & { kind: "if" | "elif"; expr: ExprNode }
  | Strip & { kind: "for"; expr: ExprNode; loopVar: string }
  | Strip & { kind: "else" | "endif" | "endfor" | "raw" | "endraw" | "comment" };
type Item = { kind: "text"; text: string } | Tag;

/** Checks a template's syntax. Throws `TemplateError` (kind `syntax`). */
export function checkTemplate(source: string): void {
  parseTemplate(source);
}

/**
 * Parses a template into nodes. Throws `TemplateError` (kind `syntax`) whose
 * message is `<prefix>syntax error at line <l>, column <c>: <detail>`.
 */
export function parseTemplate(source: string, prefix = "template "): TemplateNode[] {
  if (exceedsBytes(source, MAX_TEMPLATE_BYTES)) {
    throw new TemplateError("syntax", `${prefix}source longer than ${MAX_TEMPLATE_BYTES} bytes`);
  }
  const fail = (pos: number, detail: string): never => {
    throw new TemplateError(
      "syntax",
      `${prefix}syntax error at ${location(source, pos)}: ${detail}`,
    );
  };
  const items = scan(source, fail);
  applyWhitespaceControl(items);
  return buildBlocks(items, fail);
}

function location(source: string, pos: number): string {
  const before = source.slice(0, pos);
  const line = before.split("\n").length;
  const column = [...before.slice(before.lastIndexOf("\n") + 1)].length + 1;
  return `line ${line}, column ${column}`;
}

function scan(source: string, fail: (pos: number, detail: string) => never): Item[] {
  const items: Item[] = [];
  const embedded = (start: number, terminator: "}}" | "%}", filters: boolean) => {
    try {
      return parseEmbeddedExpr(source, start, { terminator, filters });
    } catch (e) {
      if (e instanceof ExprError) return fail(e.offset ?? start, e.detail ?? e.message);
      throw e;
    }
  };
  const tagEnd = (at: number, name: string): { rstrip: boolean; after: number } => {
    TAG_END.lastIndex = at;
    const m = TAG_END.exec(source) ?? fail(at, `unexpected text after '${name}'`);
    return { rstrip: m[1] === "-", after: TAG_END.lastIndex };
  };

  let i = 0;
  while (i < source.length) {
    OPENERS.lastIndex = i;
    const open = OPENERS.exec(source);
    const at = open === null ? source.length : open.index;
    if (at > i) items.push({ kind: "text", text: source.slice(i, at) });
    if (open === null) break;
    const lstrip = source[at + 2] === "-";
    const start = at + 2 + (lstrip ? 1 : 0);
    const opener = source[at + 1];
    if (opener === "#") {
      const close = source.indexOf("#}", start);
      if (close < 0) fail(at, "unclosed comment");
      const rstrip = close > start && source[close - 1] === "-";
      items.push({ kind: "comment", pos: at, lstrip, rstrip });
      i = close + 2;
    } else if (opener === "{") {
      const out = embedded(start, "}}", true);
      for (const filter of out.filters) checkFilter(filter, fail);
      items.push({
        kind: "output",
        pos: at,
        lstrip,
        rstrip: out.stripAfter,
        expr: out.node,
        filters: out.filters,
      });
      i = out.after;
    } else {
      TAG_NAME.lastIndex = start;
      const name = TAG_NAME.exec(source)?.[1] ?? fail(start, "expected a tag name");
      const afterName = TAG_NAME.lastIndex;
      if (name === "if" || name === "elif") {
        const cond = embedded(afterName, "%}", false);
        items.push({ kind: name, pos: at, lstrip, rstrip: cond.stripAfter, expr: cond.node });
        i = cond.after;
      } else if (name === "for") {
        FOR_HEAD.lastIndex = afterName;
        const head = FOR_HEAD.exec(source) ??
          fail(afterName, "expected 'for <name> in <expression>'");
        if (head[1] === "loop") fail(afterName, "'loop' cannot be a loop variable");
        const iterable = embedded(FOR_HEAD.lastIndex, "%}", false);
        items.push({
          kind: "for",
          pos: at,
          lstrip,
          rstrip: iterable.stripAfter,
          expr: iterable.node,
          loopVar: head[1],
        });
        i = iterable.after;
      } else if (name === "else" || name === "endif" || name === "endfor") {
        const end = tagEnd(afterName, name);
        items.push({ kind: name, pos: at, lstrip, rstrip: end.rstrip });
        i = end.after;
      } else if (name === "raw") {
        const end = tagEnd(afterName, name);
        ENDRAW.lastIndex = end.after;
        const close = ENDRAW.exec(source) ?? fail(at, "unclosed 'raw' block (expected 'endraw')");
        items.push({ kind: "raw", pos: at, lstrip, rstrip: end.rstrip });
        items.push({ kind: "text", text: source.slice(end.after, close.index) });
        items.push({
          kind: "endraw",
          pos: close.index,
          lstrip: close[1] === "-",
          rstrip: close[2] === "-",
        });
        i = ENDRAW.lastIndex;
      } else {
        fail(afterName - name.length, `unsupported tag '${name}'`);
      }
    }
  }
  return items;
}

function checkFilter(filter: ExprFilter, fail: (pos: number, detail: string) => never): void {
  if (!FILTERS.has(filter.name)) fail(filter.offset, `unknown filter '${filter.name}'`);
  if (filter.name === "default" && filter.arg === undefined) {
    fail(filter.offset, "filter 'default' takes one argument");
  }
  if (filter.name !== "default" && filter.arg !== undefined) {
    fail(filter.offset, `filter '${filter.name}' takes no argument`);
  }
}

// `-` strips the whitespace (newlines included) on its side of a tag.
function applyWhitespaceControl(items: Item[]): void {
  items.forEach((item, i) => {
    if (item.kind === "text") return;
    const before = items[i - 1];
    const after = items[i + 1];
    if (item.lstrip && before?.kind === "text") before.text = before.text.trimEnd();
    if (item.rstrip && after?.kind === "text") after.text = after.text.trimStart();
  });
}

function buildBlocks(items: Item[], fail: (pos: number, detail: string) => never): TemplateNode[] {
  let i = 0;
  let depth = 0;
  const enter = (open: Tag) => {
    if (++depth > MAX_BLOCK_DEPTH) fail(open.pos, `blocks nested deeper than ${MAX_BLOCK_DEPTH}`);
  };
  // Parses nodes until a tag of a kind in `stops`, which it leaves unconsumed.
  const block = (stops: Tag["kind"][]): TemplateNode[] => {
    const nodes: TemplateNode[] = [];
    for (; i < items.length; i++) {
      const item = items[i];
      if (item.kind === "text") {
        if (item.text !== "") nodes.push({ type: "text", text: item.text });
      } else if (stops.includes(item.kind)) {
        return nodes;
      } else if (item.kind === "output") {
        nodes.push({ type: "output", expr: item.expr, filters: item.filters });
      } else if (item.kind === "if") {
        i++;
        enter(item);
        nodes.push(ifBlock(item));
        depth--;
      } else if (item.kind === "for") {
        i++;
        enter(item);
        const body = block(["endfor"]);
        closeWith(item, "endfor");
        depth--;
        nodes.push({ type: "for", name: item.loopVar, items: item.expr, body });
      } else if (item.kind !== "comment" && item.kind !== "raw" && item.kind !== "endraw") {
        fail(item.pos, `unexpected '${item.kind}'`);
      }
    }
    return nodes;
  };
  // Checks that the current item closes `open`; leaves `i` on it.
  const closeWith = (open: Tag, kind: Tag["kind"]) => {
    if (items[i]?.kind !== kind) {
      fail(open.pos, `unclosed '${open.kind}' block (expected '${kind}')`);
    }
  };
  const ifBlock = (open: Extract<Tag, { kind: "if" | "elif" }>): TemplateNode => {
    const branches = [{ cond: open.expr, body: block(["elif", "else", "endif"]) }];
    for (;;) {
      const next = items[i];
      if (next?.kind === "elif") {
        i++;
        branches.push({ cond: next.expr, body: block(["elif", "else", "endif"]) });
      } else if (next?.kind === "else") {
        i++;
        const otherwise = block(["endif"]);
        closeWith(open, "endif");
        return { type: "if", branches, otherwise };
      } else {
        closeWith(open, "endif");
        return { type: "if", branches, otherwise: [] };
      }
    }
  };
  return block([]);
}
