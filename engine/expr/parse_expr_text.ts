import type { ExprNode } from "../../protocol/blueprint.ts";
import { ExprError } from "./expr_error.ts";
import { type Fail, lex } from "./_lexer.ts";
import { createParser } from "./_parser.ts";
import { checkExprLimits } from "./_limits.ts";

/** The longest accepted expression text, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 8192;

/** The UTF-8 length of a string, computed only when it could exceed `limit`. */
export function exceedsBytes(text: string, limit: number): boolean {
  if (text.length <= limit / 3) return false;
  return text.length > limit || new TextEncoder().encode(text).length > limit;
}

/**
 * Parses one compact-text expression (reference/blueprint.md §3.3) into a compiled
 * tree. Throws `ExprError`: `expression syntax error at <column>: <detail>`, with
 * a 1-based column counted in code points (end of input = length + 1).
 */
export function parseExprText(text: string): ExprNode {
  if (exceedsBytes(text, MAX_TEXT_BYTES)) {
    throw new ExprError("limit", `expression text longer than ${MAX_TEXT_BYTES} bytes`);
  }
  const fail: Fail = (offset, detail, kind = "syntax") => {
    const column = [...text.slice(0, offset)].length + 1;
    const label = kind === "limit" ? "expression limit exceeded" : "expression syntax error";
    throw new ExprError(kind, `${label} at ${column}: ${detail}`, { offset, detail });
  };
  const { tokens } = lex(text, 0, fail);
  const parser = createParser(tokens, fail);
  const node = parser.expression();
  if (parser.peek().type !== "end") parser.unexpected(parser.peek());
  return node;
}

/** A template filter application: `| name` or `| name(arg)`. */
export interface ExprFilter {
  name: string;
  arg?: ExprNode;
  offset: number;
}

/** An expression embedded in a template tag, and where its tag ends. */
export interface EmbeddedExpr {
  node: ExprNode;
  filters: ExprFilter[];
  /** Offset of the terminator (of its `-`, when present). */
  end: number;
  /** Offset just after the terminator. */
  after: number;
  /** Whether the terminator was written with `-` (strip the whitespace after it). */
  stripAfter: boolean;
}

/** Options of {@link parseEmbeddedExpr}. */
export interface EmbeddedExprOptions {
  /** The tag's terminator. */
  terminator: "}}" | "%}";
  /** Accept `| filter` applications after the expression. */
  filters?: boolean;
}

const FILTER_NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u;

/**
 * Parses the template flavour of the syntax (reference/blueprint.md §3.4) from
 * `start` up to the tag terminator: `and`/`or`/`not` are operators, and a bare
 * identifier path is a variable, compiled to a path whose `at` starts with `@`
 * instead of `$` (`user.name` → `@.user.name`). Throws `ExprError`: syntax errors
 * carry `offset` and `detail`; the tree limits of `compileExpr` apply too.
 */
export function parseEmbeddedExpr(
  source: string,
  start: number,
  options: EmbeddedExprOptions,
): EmbeddedExpr {
  const fail: Fail = (offset, detail, kind = "syntax") => {
    throw new ExprError(kind, `expression syntax error at offset ${offset}: ${detail}`, {
      offset,
      detail,
    });
  };
  const lexed = lex(source, start, fail, { template: true, terminator: options.terminator });
  const parser = createParser(lexed.tokens, fail, true);
  const node = parser.expression();
  const filters: ExprFilter[] = [];
  while (options.filters && parser.peek().type === "op" && parser.peek().text === "|") {
    parser.next();
    const name = parser.next();
    if (name.type !== "path" || !FILTER_NAME.test(name.text)) {
      fail(name.pos, "expected a filter name");
    }
    const filter: ExprFilter = { name: name.text, offset: name.pos };
    if (parser.peek().type === "op" && parser.peek().text === "(") {
      parser.next();
      filter.arg = parser.expression();
      parser.expect(")");
    }
    filters.push(filter);
  }
  if (parser.peek().type !== "end") parser.unexpected(parser.peek());
  checkExprLimits(node);
  for (const filter of filters) if (filter.arg !== undefined) checkExprLimits(filter.arg);
  return { node, filters, end: lexed.end, after: lexed.after, stripAfter: lexed.strip };
}
