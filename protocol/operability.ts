/**
 * Wire shapes of the operability routes (SPEC §7): the doctor report.
 *
 * @module
 */
import { z } from "./zod.ts";

const Count = z.int().min(0);

/** One instance of a cluster, as the doctor lists it. */
export const ClusterInstance = z.object({
  id: z.string(),
  url: z.string(),
  started_at: z.string().meta({ description: "ISO 8601." }),
  heartbeat_at: z.string().meta({ description: "ISO 8601, the database's clock." }),
  heartbeat_age_secs: z.number().min(0),
  alive: z.boolean().meta({ description: "The last heartbeat is younger than the run lease." }),
  runs: Count.meta({ description: "Running runs the instance owns." }),
  seats: Count.meta({ description: "Seats whose socket the instance holds." }),
});
export type ClusterInstance = z.infer<typeof ClusterInstance>;

/** The cluster section of the doctor report (present when the stores are in PostgreSQL). */
export const ClusterReport = z.object({
  instance_id: z.string().meta({ description: "The instance that answered." }),
  run_lease_secs: Count,
  bus_reconnects: Count.meta({ description: "Times this instance's listener reconnected." }),
  instances: z.array(ClusterInstance).meta({ description: "Sorted by id, dead ones too." }),
});
export type ClusterReport = z.infer<typeof ClusterReport>;

/**
 * `GET /v1/doctor` answer: the 0.1.2 fields (reference/http.md §8.11) plus the
 * store, session and pending counts, live runs and the uptime.
 */
export const DoctorReport = z.object({
  bind: z.string().meta({
    description:
      "The socket address listened on (IPv6 in brackets); the configured one in a test app.",
  }),
  blueprint_backend: z.enum(["deno_kv", "in_memory", "postgres"]),
  blueprint_store_root: z.string().nullable(),
  blueprint_ref_base: z.string().nullable().meta({
    description: "SWITCHBOARD_BLUEPRINT_REF_BASE: where `$file` and `$agent_md` are read from.",
  }),
  enhance_flow_enabled: z.literal(false),
  seed_blueprint_id: z.string(),
  registered_blueprint_ids: z.array(z.string()).meta({
    description: "Sorted ascending, archived ids excluded.",
  }),
  registered_blueprint_count: Count,
  store: z.object({
    kind: z.enum(["memory", "kv", "pg"]),
    path: z.string().nullable(),
    usage: z.object({
      used_bytes: Count.meta({
        description: "Bytes of data in the file (its free pages left out).",
      }),
      file_bytes: Count,
      max_bytes: Count.meta({ description: "SWITCHBOARD_KV_MAX_MB." }),
      full: z.boolean().meta({ description: "Over the bound: new work answers 507." }),
    }).optional().meta({ description: "A KV file's use, as last read (every 10 s)." }),
  }),
  sessions: z.object({ total: Count, connected: Count, disconnected: Count }),
  pending: z.object({ total: Count, ask: Count, hook_before: Count, spawn: Count }),
  live_runs: Count,
  api_token_required: z.boolean(),
  started_at: z.string().meta({ description: "ISO 8601." }),
  uptime_secs: z.number().min(0),
  cluster: ClusterReport.optional(),
});
export type DoctorReport = z.infer<typeof DoctorReport>;
