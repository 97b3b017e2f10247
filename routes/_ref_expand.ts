/**
 * File references in a registered Blueprint (reference/blueprint.md §1.9), when
 * `SWITCHBOARD_BLUEPRINT_REF_BASE` names a directory. Before the body is parsed
 * as a Blueprint:
 *
 * - `{"$file": "<path>"}` (that one key) becomes the file's text;
 * - `{"$agent_md": "<path>", …siblings}` becomes an agent definition read from an
 *   agent.md file (YAML front matter between `---` lines, then the system
 *   prompt); the siblings, expanded in turn, then replace its keys one level deep.
 *
 * Paths are relative, with no `..` part, and must stay under the base once
 * symbolic links are resolved (0.1.2 did not check links). Each file, the files
 * of one body and their bytes are bounded. `version_hash` is the hex SHA-256 of
 * the prompt (0.1.2: BLAKE3), as versions are (SPEC §6). Inline Blueprints of
 * `/v1/tasks` are never expanded.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import { AgentKind } from "../protocol/blueprint.ts";
import { isPlainJson, type Json, type JsonObject, MAX_JSON_DEPTH } from "../protocol/json.ts";
import { sha256Hex } from "../engine/crypto.ts";
import { getOwn, isObject, setOwn } from "../engine/expr/mod.ts";
import { parseYamlBody } from "./_yaml_body.ts";

/** Bounds of one body's expansion. */
export const REF_LIMITS = {
  /** Files read for one body. */
  files: 64,
  /** Bytes of one file. */
  fileBytes: 1024 * 1024,
  /** Bytes of all the files of one body. */
  totalBytes: 4 * 1024 * 1024,
} as const;

/** What expansion needs. */
export interface RefExpandOptions {
  /** The base directory (any form: its real path is taken). */
  base: string;
  /** The server's default agent kind (`SWITCHBOARD_DEFAULT_AGENT_KIND`). */
  defaultAgentKind?: AgentKind;
}

const fail = (detail: string) => new SwitchboardError("bad_request", `ref expand: ${detail}`);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** `body` with its file references replaced; throws 400 `ref expand: …`. */
export async function expandRefs(body: unknown, options: RefExpandOptions): Promise<unknown> {
  // `as`: a parsed request body (JSON.parse, or the YAML parser's plain data)
  const doc = body as Json;
  let base: string;
  try {
    base = await Deno.realPath(options.base);
  } catch (err) {
    throw fail(`blueprint ref base: ${err instanceof Error ? err.message : String(err)}`);
  }
  const budget = { files: 0, bytes: 0 };
  const topKind = isObject(doc) ? getOwn(doc, "default_agent_kind") : undefined;
  const fallbackKind = parsedKind(topKind) ?? options.defaultAgentKind ?? "operator";

  /** Reads a file of the base as text, within the bounds. */
  async function read(form: "$file" | "$agent_md", path: string): Promise<string> {
    const where = `${form} ref expansion at ${JSON.stringify(path)}`;
    if (path === "" || path.includes("\0")) throw fail(`${where}: empty or invalid path`);
    if (path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
      throw fail(`${where}: absolute path not allowed (must be relative to Blueprint dir)`);
    }
    if (path.split(/[\\/]/).includes("..")) {
      throw fail(`${where}: '..' not allowed (must stay in the Blueprint dir)`);
    }
    if (++budget.files > REF_LIMITS.files) {
      throw fail(`more than ${REF_LIMITS.files} file references in one Blueprint`);
    }
    let real: string;
    try {
      real = await Deno.realPath(`${base}/${path}`);
    } catch {
      throw fail(`${where}: no such file`);
    }
    if (!real.startsWith(`${base}/`)) {
      throw fail(`${where}: resolves outside the Blueprint dir (a symbolic link)`);
    }
    const info = await Deno.stat(real);
    if (!info.isFile) throw fail(`${where}: not a file`);
    if (info.size > REF_LIMITS.fileBytes) {
      throw fail(`${where}: larger than ${REF_LIMITS.fileBytes} bytes`);
    }
    budget.bytes += info.size;
    if (budget.bytes > REF_LIMITS.totalBytes) {
      throw fail(`the referenced files exceed ${REF_LIMITS.totalBytes} bytes in all`);
    }
    const bytes = await Deno.readFile(real);
    if (bytes.length > REF_LIMITS.fileBytes) {
      throw fail(`${where}: larger than ${REF_LIMITS.fileBytes} bytes`);
    }
    try {
      return utf8.decode(bytes);
    } catch {
      throw fail(`${where}: not UTF-8 text`);
    }
  }

  async function walk(value: Json, depth: number): Promise<Json> {
    if (depth > MAX_JSON_DEPTH) throw fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(value)) {
      const out: Json[] = [];
      for (const item of value) out.push(await walk(item, depth + 1));
      return out;
    }
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$file" && typeof value.$file === "string") {
      return await read("$file", value.$file);
    }
    const siblings: JsonObject = {};
    for (const key of keys) {
      if (key === "$agent_md" && typeof value.$agent_md === "string") continue;
      setOwn(siblings, key, await walk(value[key], depth + 1));
    }
    if (typeof value.$agent_md !== "string") return siblings;
    const path = value.$agent_md;
    const agent: JsonObject = agentOf(path, await read("$agent_md", path));
    agent.kind = parsedKind(getOwn(siblings, "kind")) ?? fallbackKind;
    const profile = agent.profile as JsonObject;
    profile.version_hash = await sha256Hex(String(profile.system_prompt));
    for (const key of Object.keys(siblings)) setOwn(agent, key, siblings[key]);
    return agent;
  }

  return hasRefs(doc, 0) ? await walk(doc, 0) : body;
}

/** True when a `$file` or `$agent_md` key is anywhere in `value` (most bodies have none). */
function hasRefs(value: Json, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return true; // the walk reports it
  if (Array.isArray(value)) return value.some((item) => hasRefs(item, depth + 1));
  if (!isObject(value)) return false;
  for (const key of Object.keys(value)) {
    if (key === "$file" || key === "$agent_md" || hasRefs(value[key], depth + 1)) return true;
  }
  return false;
}

function parsedKind(value: unknown): AgentKind | undefined {
  const parsed = AgentKind.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** A front matter field that must be text (a number or boolean is written as text). */
function textField(value: Json | undefined, name: string, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object") throw fail(`${where}: front matter '${name}' must be text`);
  return String(value);
}

/** The agent definition an agent.md file describes (kind and hash are filled by the caller). */
function agentOf(path: string, text: string): {
  name: string;
  kind?: AgentKind;
  spec: null;
  profile: Record<string, Json> & { system_prompt?: string };
  meta: null;
} {
  const where = `$agent_md ref expansion at ${JSON.stringify(path)}`;
  // a UTF-8 byte order mark before the front matter is not part of it
  const lines = (text.startsWith("\ufeff") ? text.slice(1) : text).split("\n");
  if (lines[0].replace(/\r$/, "") !== "---") {
    throw fail(`${where}: no front matter (the file must start with a '---' line)`);
  }
  const end = lines.findIndex((line, i) => i > 0 && line.replace(/\r$/, "") === "---");
  if (end < 0) throw fail(`${where}: front matter not closed by a '---' line`);
  let front: unknown;
  try {
    front = parseYamlBody(lines.slice(1, end).map((line) => line.replace(/\r$/, "")).join("\n"));
  } catch (err) {
    throw fail(`${where}: front matter: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (front === null || front === undefined) front = {};
  if (!isPlainJson(front) || !isObject(front as Json)) {
    throw fail(`${where}: front matter must be a YAML mapping`);
  }
  const fields = front as JsonObject;
  const name = textField(fields.name, "name", where);
  if (name === undefined || name === "") throw fail(`${where}: front matter must contain 'name'`);
  const profile: Record<string, Json> & { system_prompt?: string } = {
    system_prompt: lines.slice(end + 1).join("\n"),
  };
  for (const key of ["description", "model", "effort"] as const) {
    const text = textField(fields[key], key, where);
    if (text !== undefined) profile[key] = text;
  }
  const tools = fields.tools;
  if (typeof tools === "string") {
    profile.tools = tools.split(",").map((t) => t.trim()).filter((t) => t !== "");
  } else if (Array.isArray(tools)) {
    profile.tools = tools.map((t) => textField(t, "tools", where) ?? "");
  } else if (tools !== undefined && tools !== null) {
    throw fail(`${where}: front matter 'tools' must be text or a list`);
  }
  const extras: JsonObject = {};
  let hasExtras = false;
  for (const key of Object.keys(fields)) {
    if (["name", "description", "model", "effort", "tools"].includes(key)) continue;
    setOwn(extras, key, fields[key]); // a `__proto__` key is data (reference/blueprint.md §3.5)
    hasExtras = true;
  }
  if (hasExtras) profile.extras = extras;
  return { name, spec: null, profile, meta: null };
}
