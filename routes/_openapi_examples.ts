/**
 * Real examples for the OpenAPI document: request bodies that work against a
 * fresh server (tests/operability/openapi_examples_test.ts sends each one) and
 * error bodies as the server writes them. Swagger UI and codegen tools show
 * these instead of placeholders built from the schemas.
 *
 * @module
 */

/** One named example of a media type. */
export interface NamedExample {
  summary: string;
  value: unknown;
}

/** A Blueprint that registers and runs on a fresh server: one built-in `identity` step. */
export const EXAMPLE_BLUEPRINT = {
  id: "greet",
  agents: [{ name: "echo", kind: "rust_fn", spec: { fn_id: "identity" } }],
  flow: { kind: "step", ref: "echo", in: "$.name", out: "$.greeting" },
};

/** The task body that runs {@link EXAMPLE_BLUEPRINT} inline. */
const INLINE_TASK = {
  blueprint: { kind: "inline", value: EXAMPLE_BLUEPRINT },
  init_ctx: { name: "Ada" },
  ttl_secs: 60,
};

/** The task body that runs the seed Blueprint `main` from the store. */
const STORED_TASK = { blueprint: { kind: "id", id: "main" }, init_ctx: { n: 1 } };

const TASK_EXAMPLES: Record<string, NamedExample> = {
  inline: { summary: "An inline Blueprint (one identity step)", value: INLINE_TASK },
  stored: { summary: "The seed Blueprint `main` from the store", value: STORED_TASK },
};

/** Request body examples by `METHOD /openapi/path`. */
export const REQUEST_EXAMPLES: Readonly<Record<string, Record<string, NamedExample>>> = {
  "POST /v1/operators": {
    roles: {
      summary: "A seat that answers for the role `reviewer`",
      value: { roles: ["reviewer"] },
    },
    bare: { summary: "A seat with no role (runs name it by sid)", value: {} },
  },
  "POST /v1/tasks": TASK_EXAMPLES,
  "POST /v1/runs": TASK_EXAMPLES,
  "POST /v1/blueprints/{id}": {
    greet: {
      summary: "One identity step (POST it to /v1/blueprints/greet)",
      value: EXAMPLE_BLUEPRINT,
    },
  },
  "POST /v1/sessions": {
    observer: {
      summary: "An observer session for one minute",
      value: { agent_id: "dashboard", role: "observer", ttl_secs: 60 },
    },
  },
  "POST /v1/worker/result": {
    done: {
      summary: "A worker's final value (task_id from its spawn frame)",
      value: { task_id: "T-0000000000000001", value: { summary: "done" }, ok: true },
    },
  },
  "POST /v1/data/emit": {
    progress: {
      summary: "A progress event (task_id and attempt from the spawn frame)",
      value: {
        task_id: "T-0000000000000001",
        attempt: 1,
        producer_agent: "echo",
        event: { type: "progress", stage: "thinking" },
      },
    },
  },
  "POST /v1/data/{name}": {
    progress: {
      summary: "A progress event under the producer named in the path",
      value: { task_id: "T-0000000000000001", attempt: 1, event: { type: "progress", stage: "x" } },
    },
  },
};

/** Error bodies as the server writes them, by status (the first is the default example). */
export const ERROR_EXAMPLES: Readonly<Record<number, Record<string, NamedExample>>> = {
  400: {
    blueprint_not_found: {
      summary: "An unknown Blueprint id on /v1/tasks (0.1.2 status and text)",
      value: { error: "bp resolve: store: head ref empty: id=nope", code: "blueprint_not_found" },
    },
    malformed_json: {
      summary: "A body that is not JSON",
      value: {
        error: "Failed to parse the request body as JSON: Unexpected end of JSON input",
        code: "malformed_json",
      },
    },
  },
  401: {
    missing_credentials: {
      summary: "No bearer",
      value: { error: "missing or empty Bearer token", code: "missing_credentials" },
    },
    token_expired: {
      summary: "An expired capability token",
      value: { error: "engine: token expired", code: "token_expired" },
    },
  },
  403: {
    host_not_allowed: {
      summary: "No API token is set and the Host is not allowed (DNS rebinding guard)",
      value: {
        error: 'host not allowed: "evil.example"; add it to SWITCHBOARD_ALLOWED_HOSTS, or set ' +
          "SWITCHBOARD_API_TOKEN",
        code: "host_not_allowed",
      },
    },
    token_role: {
      summary: "A token whose role may not use this verb",
      value: {
        error: "engine: prompt: role violation: role=observer verb=fetch_prompt",
        code: "token_role",
      },
    },
  },
  404: {
    run_not_found: {
      summary: "An unknown run",
      value: { error: "run not found: run-0000", code: "run_not_found" },
    },
    blueprint_not_found: {
      summary: "An unknown Blueprint",
      value: { error: "read_head: head ref empty: id=nope", code: "blueprint_not_found" },
    },
  },
  409: {
    roles_conflict: {
      summary: "A role held by another seat",
      value: { error: "roles conflict", code: "roles_conflict", conflicts: ["reviewer"] },
    },
  },
  410: {
    run_ended: {
      summary: "The run has ended",
      value: { error: "run has ended", code: "run_ended" },
    },
  },
  413: {
    body_too_large: {
      summary: "A body over 2 MiB",
      value: { error: "request body larger than 2 MiB", code: "body_too_large" },
    },
  },
  415: {
    unsupported_media_type: {
      summary: "Not JSON",
      value: {
        error: "Expected request with `Content-Type: application/json`",
        code: "unsupported_media_type",
      },
    },
  },
  507: {
    storage_full: {
      summary: "The KV file over its bound",
      value: {
        error: "storage full: the KV file uses 4100 MiB of its 4096 MiB bound " +
          "(SWITCHBOARD_KV_MAX_MB); ended runs are deleted oldest first to make room",
        code: "storage_full",
      },
    },
  },
  422: {
    invalid_body: {
      summary: "JSON of the wrong shape",
      value: {
        error: "Failed to deserialize the JSON body into the target type: /init_ctx: Invalid input",
        code: "invalid_body",
        issues: [{ path: ["init_ctx"], pointer: "/init_ctx", message: "Invalid input" }],
      },
    },
  },
};
