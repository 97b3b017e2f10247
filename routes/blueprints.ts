/**
 * The Blueprint store routes (reference/blueprint.md §4.5, SPEC §6): register
 * (JSON or YAML), read head, a version or a semver range, history, list,
 * archive and unarchive. Versions are hex SHA-256 everywhere.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { jsonTextTooDeep, MAX_JSON_DEPTH } from "../protocol/json.ts";
import { z } from "zod";
import { SwitchboardError } from "../protocol/errors.ts";
import type { AgentKind, VersionSelector } from "../protocol/blueprint.ts";
import {
  BlueprintAtVersion,
  BlueprintHead,
  BlueprintHistory,
  BlueprintList,
  BlueprintRegistered,
} from "../protocol/blueprint_store.ts";
import { type BlueprintStore, isStoreError, StoreError } from "../store/blueprint_store.ts";
import {
  registerBlueprint,
  resolveBlueprint,
  validateBlueprintId,
} from "../engine/blueprint/mod.ts";
import { adminGuard, assertStorageRoom, bodyText, isJsonContentType, queryOf } from "./_http.ts";
import type { DiskBudget } from "../store/disk_budget.ts";
import { doc, empty, json } from "./_doc.ts";

/** What the Blueprint routes need. */
export interface BlueprintRoutesDeps {
  blueprints: BlueprintStore;
  warn(message: string): void;
  apiToken?: string;
  /** The KV file's byte bound: no new version while it is over (507). */
  storage?: DiskBudget;
  /** Where `$file` and `$agent_md` references are read from (unset: not expanded). */
  refBase?: string;
  /** The kind of an agent that names none, before `operator`. */
  defaultAgentKind?: AgentKind;
  /** Refuses Blueprints that use what 0.1.2 lacks (extension operators, `ask`). */
  strictWire?: boolean;
}

const YAML_TYPES = new Set(["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"]);

/** Reads a Blueprint body: JSON, or YAML when the content type says so. */
async function readBody(c: Context): Promise<unknown> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const isYaml = YAML_TYPES.has(type);
  if (!isYaml && !isJsonContentType(type)) {
    throw new SwitchboardError(
      "unsupported_media_type",
      "Expected request with `Content-Type: application/json` (or application/yaml)",
    );
  }
  const text = await bodyText(
    c,
    `Failed to parse the request body as ${isYaml ? "YAML" : "JSON"}: invalid UTF-8`,
  );
  // the YAML parser loads on the first YAML body: a server that gets none does not hold it
  if (isYaml) return (await import("./_yaml_body.ts")).parseYamlBody(text);
  if (jsonTextTooDeep(text)) {
    throw new SwitchboardError(
      "invalid",
      `blueprint parse: JSON nesting deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SwitchboardError(
      "bad_request",
      `Failed to parse the request body as JSON: ${err instanceof Error ? err.message : err}`,
    );
  }
}

/** `read_head: <detail>` 404s for unknown, archived or invalid ids. */
function readFailure(err: unknown, prefix: string): never {
  if (isStoreError(err)) {
    throw new SwitchboardError("not_found", `${prefix}: ${err.detail}`, { cause: err });
  }
  throw err;
}

function checkReadId(id: string, prefix: string): void {
  if (!validateBlueprintId(id)) {
    throw new SwitchboardError("not_found", `${prefix}: head ref empty: id=${id}`);
  }
}

const ListQuery = z.object({ include_archived: z.enum(["true", "false"]).optional() });
const ReadQuery = z.object({ version: z.string().min(1).optional() });
const HistoryQuery = z.object({
  limit: z.string().regex(/^\d+$/, "expected an unsigned integer").optional(),
});

/** Routes under `/v1/blueprints`. */
export function blueprintRoutes(deps: BlueprintRoutesDeps) {
  const { blueprints, defaultAgentKind } = deps;
  const admin = adminGuard(deps.apiToken);
  const tags = ["blueprints"];
  return new Hono()
    .get(
      "/v1/blueprints",
      doc({
        tags,
        summary: "List Blueprint ids with their head version and archive flag",
        responses: { 200: json(BlueprintList, "Sorted by id.") },
        errors: [400, 401],
        admin: true,
      }),
      admin,
      queryOf(ListQuery),
      async (c) => {
        const includeArchived = c.req.valid("query").include_archived === "true";
        const series = await blueprints.listIds({ includeArchived });
        return c.json({
          count: series.length,
          ids: series.map((s) => s.id),
          blueprints: series.map((s) => ({ id: s.id, version: s.head, archived: s.archived })),
        }, 200);
      },
    )
    .post(
      "/v1/blueprints/:id",
      doc({
        tags,
        summary: "Register a Blueprint (JSON, or YAML with a YAML content type)",
        description: "201 when a new version was written, 200 when the content equals the " +
          "head. 422 with `issues` (path and pointer of each fault) for a bad document; 409 when " +
          "archived. With `SWITCHBOARD_BLUEPRINT_REF_BASE`, `$file` and `$agent_md` references " +
          "are expanded first (400 `ref expand: …` when one cannot be).",
        responses: {
          201: json(BlueprintRegistered, "A new version was written."),
          200: json(BlueprintRegistered, "Same content as the head; nothing written."),
        },
        errors: [400, 401, 409, 413, 415, 422, 507],
        admin: true,
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        let body = await readBody(c); // 415 / 400 come first (§4.5 row 1)
        if (!validateBlueprintId(id)) {
          throw new SwitchboardError("bad_request", "invalid blueprint id");
        }
        assertStorageRoom(deps.storage);
        if (deps.refBase !== undefined) {
          // loaded on first use: a server without a ref base never holds it
          const { expandRefs } = await import("./_ref_expand.ts");
          body = await expandRefs(body, { base: deps.refBase, defaultAgentKind });
        }
        const result = await registerBlueprint(blueprints, id, body, {
          defaultAgentKind,
          strictWire: deps.strictWire,
        });
        return c.json(result, result.seeded ? 201 : 200);
      },
    )
    .get(
      "/v1/blueprints/:id",
      doc({
        tags,
        summary: "Read the head, or the version named by `?version=` (hex or semver range)",
        responses: { 200: json(BlueprintAtVersion, "The normalized Blueprint.") },
        errors: [400, 401, 404],
        admin: true,
      }),
      admin,
      queryOf(ReadQuery),
      async (c) => {
        const id = c.req.param("id");
        checkReadId(id, "read_head");
        const wanted = c.req.valid("query").version;
        const version: VersionSelector = wanted === undefined
          ? { kind: "latest" }
          : /^[0-9a-fA-F]{64}$/.test(wanted)
          ? { kind: "fixed", value: wanted }
          : { kind: "semver_req", req: wanted };
        try {
          const found = await resolveBlueprint(blueprints, { id, version }, { warn: deps.warn });
          return c.json(
            { id, version: found.version, blueprint: found.blueprint, archived: false },
            200,
          );
        } catch (err) {
          if (err instanceof SwitchboardError && err.status === 400) {
            throw new SwitchboardError("bad_request", `version: ${err.message}`, { cause: err });
          }
          // a read by `?version=` is a version's read (its own prefix), the head's otherwise
          return readFailure(err, wanted === undefined ? "read_head" : "read_version");
        }
      },
    )
    .get(
      "/v1/blueprints/:id/head",
      doc({
        tags,
        summary: "Read the head",
        responses: { 200: json(BlueprintHead, "The normalized Blueprint at the head.") },
        errors: [401, 404],
        admin: true,
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        checkReadId(id, "read_head");
        try {
          const head = await blueprints.readHead(id);
          return c.json({ id, version: head.version, blueprint: head.blueprint }, 200);
        } catch (err) {
          return readFailure(err, "read_head");
        }
      },
    )
    .get(
      "/v1/blueprints/:id/versions/:version",
      doc({
        tags,
        summary: "Read one stored version",
        responses: { 200: json(BlueprintAtVersion, "The version, archived or not.") },
        errors: [401, 404],
        admin: true,
      }),
      admin,
      async (c) => {
        const { id, version } = c.req.param();
        checkReadId(id, "read_version");
        if (!/^[0-9a-fA-F]{64}$/.test(version)) {
          throw new SwitchboardError(
            "not_found",
            `read_version: ${StoreError.notFound(id, version).detail}`,
          );
        }
        try {
          const found = await blueprints.readVersion(id, version, { allowArchived: true });
          const info = await blueprints.info(id);
          return c.json({
            id,
            version: found.version,
            blueprint: found.blueprint,
            archived: info?.archived ?? false,
          }, 200);
        } catch (err) {
          return readFailure(err, "read_version");
        }
      },
    )
    .get(
      "/v1/blueprints/:id/history",
      doc({
        tags,
        summary: "List content versions, newest first",
        description: "`limit` defaults to 20 and is capped at 1024. An id never written " +
          "lists no entries (200, as in 0.1.2); an id no store could hold is 404.",
        responses: { 200: json(BlueprintHistory, "The history.") },
        errors: [400, 401, 404],
        admin: true,
      }),
      admin,
      queryOf(HistoryQuery),
      async (c) => {
        const id = c.req.param("id");
        const raw = c.req.valid("query").limit;
        const limit = raw === undefined ? 20 : Math.min(Number(raw), 1024);
        // an id no store could hold is 404; one never written lists nothing, as in 0.1.2
        if (!validateBlueprintId(id)) {
          throw new SwitchboardError("not_found", `history: blueprint id not found: ${id}`);
        }
        const entries = await blueprints.history(id, limit);
        return c.json({
          count: entries.length,
          entries: entries.map((e) => ({
            hash: e.version,
            version_label: e.version_label,
            rationale: e.rationale,
          })),
        }, 200);
      },
    )
    .delete(
      "/v1/blueprints/:id",
      doc({
        tags,
        summary: "Archive a Blueprint (a soft delete; history is kept)",
        responses: { 204: empty("Archived.") },
        errors: [401, 404],
        admin: true,
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        checkReadId(id, "archive_id");
        try {
          await blueprints.archive(id);
        } catch (err) {
          readFailure(err, "archive_id");
        }
        return c.body(null, 204);
      },
    )
    .post(
      "/v1/blueprints/:id/unarchive",
      doc({
        tags,
        summary: "Unarchive a Blueprint",
        responses: { 204: empty("Unarchived.") },
        errors: [401, 404],
        admin: true,
      }),
      admin,
      async (c) => {
        const id = c.req.param("id");
        checkReadId(id, "unarchive_id");
        try {
          await blueprints.unarchive(id);
        } catch (err) {
          readFailure(err, "unarchive_id");
        }
        return c.body(null, 204);
      },
    );
}
