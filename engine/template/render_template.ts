/**
 * The renderer of the template subset (reference/blueprint.md §3.4): strict
 * undefined (except under `default`), Jinja truthiness, no auto-escaping.
 *
 * @module
 */
import type { ExprNode } from "../../protocol/blueprint.ts";
import type { Json, JsonObject } from "../../protocol/json.ts";
import {
  compactJsonWithin,
  evaluateExpr,
  exceedsBytes,
  type ExprEnv,
  type ExprFilter,
  FlowError,
  keyCount,
  length,
  newWork,
  parsePath,
  pathMemo,
  previewJson,
  sortedKeys,
  spend,
  walkPath,
  type Work,
} from "../expr/mod.ts";
import { parseTemplate, type TemplateNode } from "./parse_template.ts";
import { TemplateError } from "./template_error.ts";

/** The longest rendered output, in UTF-8 bytes. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** The most `for` iterations in one render, over all loops. */
export const MAX_ITERATIONS = 10_000;

const PREFIX = "template render failed: ";

type Frame = { name: string; value: Json; loop: JsonObject };
type State = {
  slots: JsonObject;
  frames: Frame[];
  out: string[];
  chars: number;
  iterations: number;
  /** The render's work budget, shared by all its expressions and filters. */
  work: Work;
};

/**
 * Renders a template with `slots` as its variables. Throws `TemplateError` whose
 * message starts with `template render failed: `.
 */
export function renderTemplate(source: string, slots: Record<string, Json>): string {
  const nodes = parseTemplate(source, PREFIX);
  const state: State = { slots, frames: [], out: [], chars: 0, iterations: 0, work: newWork() };
  try {
    renderNodes(nodes, state);
  } catch (e) {
    if (e instanceof FlowError) throw new TemplateError("render", PREFIX + e.message, { cause: e });
    throw e;
  }
  const output = state.out.join("");
  if (exceedsBytes(output, MAX_OUTPUT_BYTES)) throw tooLong();
  return output;
}

function tooLong(): TemplateError {
  return new TemplateError("render", `${PREFIX}output longer than ${MAX_OUTPUT_BYTES} bytes`);
}

function renderNodes(nodes: TemplateNode[], state: State): void {
  for (const node of nodes) {
    switch (node.type) {
      case "text":
        emit(node.text, state);
        break;
      case "output":
        emit(format(applyFilters(node.expr, node.filters, state), state), state);
        break;
      case "if": {
        const chosen = node.branches.find((b) =>
          jinjaTruthy(evaluateExpr(b.cond, state, ENV, state.work))
        );
        renderNodes(chosen?.body ?? node.otherwise, state);
        break;
      }
      case "for":
        renderFor(node, state);
        break;
    }
  }
}

function emit(text: string, state: State): void {
  state.chars += text.length;
  if (state.chars > MAX_OUTPUT_BYTES) throw tooLong();
  state.out.push(text);
}

function renderFor(node: Extract<TemplateNode, { type: "for" }>, state: State): void {
  const iterable = evaluateExpr(node.items, state, ENV, state.work);
  let values: Json[];
  if (Array.isArray(iterable)) values = iterable;
  else if (typeof iterable === "object" && iterable !== null) values = sortedKeys(iterable);
  else {throw new FlowError(
      `type error in for: expected array or object, got ${previewJson(iterable)}`,
    );}
  const n = values.length;
  for (let i = 0; i < n; i++) {
    if (++state.iterations > MAX_ITERATIONS) {
      throw new FlowError(`more than ${MAX_ITERATIONS} loop iterations`, "limit");
    }
    const loop = { index: i + 1, index0: i, first: i === 0, last: i === n - 1, length: n };
    state.frames.push({ name: node.name, value: values[i], loop });
    try {
      renderNodes(node.body, state);
    } finally {
      state.frames.pop();
    }
  }
}

// `undefined` stands for Jinja's undefined: a missing variable or member.
function applyFilters(expr: ExprNode, filters: ExprFilter[], state: State): Json {
  let missing: FlowError | undefined;
  let value: Json | undefined;
  try {
    value = evaluateExpr(expr, state, ENV, state.work);
  } catch (e) {
    if (!(e instanceof FlowError && e.kind === "path")) throw e;
    missing = e;
  }
  for (const filter of filters) {
    if (filter.name === "default") {
      // checkFilter (parse_template.ts) guarantees that default has its argument
      if (value === undefined || value === null) {
        value = evaluateExpr(filter.arg as ExprNode, state, ENV, state.work);
      }
      continue;
    }
    if (value === undefined) break;
    value = applyFilter(filter.name, value, state);
  }
  if (value === undefined) throw missing as FlowError; // set whenever value is undefined
  return value;
}

function applyFilter(name: string, value: Json, state: State): Json {
  switch (name) {
    case "upper":
      return text(name, value, state).toUpperCase();
    case "lower":
      return text(name, value, state).toLowerCase();
    case "trim":
      return text(name, value, state).trim();
    case "length":
      return length(value, state.work);
    default:
      return json(value, state); // tojson
  }
}

// The text a string filter works on; its characters spend from the render's work.
function text(filter: string, value: Json, state: State): string {
  if (typeof value !== "string") {
    throw new FlowError(`type error in ${filter}: expected string, got ${previewJson(value)}`);
  }
  spend(state.work, value.length >> 3);
  return value;
}

// Compact JSON no longer than the output may be (a value's shared parts may
// write out to gigabytes). Writing it costs about 60 ns a character: each spends
// 4 units of the render's work.
function json(value: Json, state: State): string {
  const out = compactJsonWithin(value, MAX_OUTPUT_BYTES);
  if (out === undefined) throw tooLong();
  spend(state.work, out.length * 4);
  return out;
}

function format(value: Json, state: State): string {
  if (typeof value === "string") return value;
  if (value === null) return "none";
  return typeof value === "object" ? json(value, state) : String(value);
}

/** Jinja truthiness: `false`, `null`, `0`, `""`, `[]` and `{}` are false. */
export function jinjaTruthy(v: Json): boolean {
  if (v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return keyCount(v) > 0; // remembered: a large object is slow to list
  return true;
}

// Variable paths are `@`-paths (`@.user.name`); `$` paths read the slot map. A
// template's path may be 256 KiB long: the memo holds 1 Mi characters of them.
const paths = pathMemo(
  1000,
  1024 * 1024,
  (at) => parsePath(at[0] === "@" ? "$" + at.slice(1) : at),
);

/** Characters of the paths in the render's path cache (for tests). */
export function cachedPathChars(): number {
  return paths.chars;
}

function lookup(state: State, at: string): Json | undefined {
  const segments = paths.segments(at);
  if (at[0] !== "@") return walkPath(state.slots, segments);
  const name = (segments[0] as { key: string }).key; // a variable path starts with its name
  for (let i = state.frames.length - 1; i >= 0; i--) {
    const frame = state.frames[i];
    if (frame.name === name) return walkPath(frame.value, segments, 1);
    if (name === "loop") return walkPath(frame.loop, segments, 1);
  }
  if (!Object.hasOwn(state.slots, name)) return undefined;
  return walkPath(state.slots[name], segments, 1);
}

const ENV: ExprEnv<State> = {
  read(state, at) {
    const value = lookup(state, at);
    if (value !== undefined) return value;
    const shown = at[0] === "@" ? at.slice(1).replace(/^\./, "") : at;
    throw new FlowError(`undefined value: ${shown}`, "path");
  },
  exists: (state, at) => lookup(state, at) !== undefined,
  truthy: jinjaTruthy,
};
