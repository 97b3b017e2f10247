/**
 * The recursive-descent parser of the compact text syntax (reference/blueprint.md
 * §3.3), producing compiled trees: paths are canonical, `-<number>` and literal
 * arrays/objects are folded to `lit`, and `&&`/`||` chains are flattened.
 *
 * @module
 */
import type { Json, JsonObject } from "../../protocol/json.ts";
import type { BinaryOp, ExprNode } from "../../protocol/blueprint.ts";
import { CALLS, type Fail, type Token } from "./_lexer.ts";
import { setOwn } from "./_own.ts";

/** The deepest nesting the parser recurses into (parentheses, calls, literals, prefixes). */
export const MAX_NESTING = 64;

const COMPARISONS: Record<string, BinaryOp | "in"> = {
  "==": "eq",
  "!=": "ne",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
  "in": "in",
};

/** A parser over a token list; `pos` is the index of the next token. */
export interface Parser {
  pos: number;
  peek(): Token;
  next(): Token;
  /** Consumes an operator token with this text, or fails. */
  expect(text: string): Token;
  /** Parses one expression. */
  expression(): ExprNode;
  /** Fails at a token with "unexpected …". */
  unexpected(token: Token): never;
}

/** Creates a parser. In template mode `and`/`or`/`not` are operators too. */
export function createParser(tokens: Token[], fail: Fail, template = false): Parser {
  let depth = 0;

  const peek = () => tokens[p.pos];
  const next = () => tokens[p.pos < tokens.length - 1 ? p.pos++ : p.pos];
  const isOp = (t: Token, text: string) => t.type === "op" && t.text === text;
  const isWord = (t: Token, text: string) => t.type === "word" && t.text === text;
  const unexpected = (t: Token): never =>
    fail(t.pos, t.type === "end" ? "unexpected end of input" : `unexpected token '${t.text}'`);
  const expect = (text: string): Token => {
    const t = peek();
    if (!isOp(t, text)) {
      fail(
        t.pos,
        `expected '${text}' but found ${t.type === "end" ? "end of input" : `'${t.text}'`}`,
      );
    }
    return next();
  };
  const enter = (t: Token) => {
    if (++depth > MAX_NESTING) fail(t.pos, `nesting deeper than ${MAX_NESTING}`, "limit");
  };
  const isOr = (t: Token) => isOp(t, "||") || (template && isWord(t, "or"));
  const isAnd = (t: Token) => isOp(t, "&&") || (template && isWord(t, "and"));
  const isNot = (t: Token) => isOp(t, "!") || (template && isWord(t, "not"));
  const comparison = (t: Token) =>
    (t.type === "op" || isWord(t, "in")) && Object.hasOwn(COMPARISONS, t.text)
      ? COMPARISONS[t.text]
      : undefined;

  function orExpr(): ExprNode {
    const first = andExpr();
    if (!isOr(peek())) return first;
    const operands = [first];
    while (isOr(peek())) {
      next();
      operands.push(andExpr());
    }
    return { op: "or", operands };
  }

  function andExpr(): ExprNode {
    const first = notExpr();
    if (!isAnd(peek())) return first;
    const operands = [first];
    while (isAnd(peek())) {
      next();
      operands.push(notExpr());
    }
    return { op: "and", operands };
  }

  function notExpr(): ExprNode {
    const t = peek();
    if (!isNot(t)) return compare();
    next();
    enter(t);
    const operand = notExpr();
    depth--;
    return { op: "not", operand };
  }

  function compare(): ExprNode {
    const lhs = additive();
    const op = comparison(peek());
    if (op === undefined) return lhs;
    next();
    const rhs = additive();
    const again = peek();
    if (comparison(again) !== undefined) fail(again.pos, "comparison operators cannot be chained");
    return op === "in" ? { op, needle: lhs, haystack: rhs } : { op, lhs, rhs };
  }

  function additive(): ExprNode {
    let lhs = multiplicative();
    for (let t = peek(); isOp(t, "+") || isOp(t, "-"); t = peek()) {
      next();
      lhs = { op: t.text === "+" ? "add" : "sub", lhs, rhs: multiplicative() };
    }
    return lhs;
  }

  function multiplicative(): ExprNode {
    let lhs = unary();
    for (let t = peek(); isOp(t, "*") || isOp(t, "/"); t = peek()) {
      next();
      lhs = { op: t.text === "*" ? "mul" : "div", lhs, rhs: unary() };
    }
    return lhs;
  }

  function unary(): ExprNode {
    const t = peek();
    if (!isOp(t, "-")) return primary();
    next();
    enter(t);
    const x = unary();
    depth--;
    if (x.op === "lit" && typeof x.value === "number") {
      return { op: "lit", value: x.value === 0 ? 0 : -x.value };
    }
    return { op: "sub", lhs: { op: "lit", value: 0 }, rhs: x };
  }

  function primary(): ExprNode {
    const t = next();
    switch (t.type) {
      case "num":
      case "str":
        return { op: "lit", value: t.value as Json }; // the lexer sets value on literals
      case "path":
        return { op: "path", at: t.at as string }; // the lexer sets at on paths
      case "word":
        if (t.text === "true" || t.text === "false") return { op: "lit", value: t.text === "true" };
        if (t.text === "null") return { op: "lit", value: null };
        if (CALLS.has(t.text) && isOp(peek(), "(")) return nested(t, () => call(t.text));
        return unexpected(t);
      case "op":
        if (t.text === "(") {
          return nested(t, () => {
            const inner = orExpr();
            expect(")");
            return inner;
          });
        }
        if (t.text === "[") return nested(t, arrayLiteral);
        if (t.text === "{") return nested(t, objectLiteral);
        return unexpected(t);
      default:
        return unexpected(t);
    }
  }

  function nested(t: Token, parse: () => ExprNode): ExprNode {
    enter(t);
    const node = parse();
    depth--;
    return node;
  }

  // Parses `[ item { "," item } ] close` and returns the closing token.
  function list(close: string, item: () => void): Token {
    if (isOp(peek(), close)) return next();
    for (;;) {
      item();
      if (isOp(peek(), ",")) next();
      else break;
    }
    return expect(close);
  }

  function call(name: string): ExprNode {
    expect("(");
    if (name === "exists") {
      const target = next();
      if (target.type !== "path") fail(target.pos, "exists() takes a path");
      expect(")");
      return { op: "exists", at: target.at as string }; // the lexer sets at on paths
    }
    const args: ExprNode[] = [];
    const close = list(")", () => args.push(orExpr()));
    const arity = (n: number) => {
      if (args.length !== n) fail(close.pos, `${name}() takes ${n} argument${n > 1 ? "s" : ""}`);
    };
    if (name === "len") {
      arity(1);
      return { op: "len", of: args[0] };
    }
    if (name === "if") {
      arity(3);
      return { op: "if", cond: args[0], then: args[1], else: args[2] };
    }
    if (args.length === 0) fail(close.pos, `${name}() takes at least one argument`);
    return { op: name === "coalesce" ? "coalesce" : "concat", operands: args };
  }

  function arrayLiteral(): ExprNode {
    const items: ExprNode[] = [];
    list("]", () => items.push(orExpr()));
    if (items.every((x) => x.op === "lit")) {
      return { op: "lit", value: items.map((x) => (x as { value: Json }).value) };
    }
    return { op: "array", items };
  }

  function objectLiteral(): ExprNode {
    const fields: Record<string, ExprNode> = {};
    list("}", () => {
      const key = next();
      if (key.type !== "str") unexpected(key);
      const name = key.value as string; // string tokens carry a string value
      if (Object.hasOwn(fields, name)) fail(key.pos, `duplicate key ${JSON.stringify(name)}`);
      expect(":");
      const value = orExpr();
      Object.defineProperty(fields, name, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    });
    const values = Object.values(fields);
    if (!values.every((x) => x.op === "lit")) return { op: "object", fields };
    const value: JsonObject = {};
    for (const key of Object.keys(fields)) {
      setOwn(value, key, (fields[key] as { value: Json }).value);
    }
    return { op: "lit", value };
  }

  const p: Parser = { pos: 0, peek, next, expect, expression: orExpr, unexpected };
  return p;
}
