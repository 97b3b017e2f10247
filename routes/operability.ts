/**
 * Operability routes: doctor, metrics, the OpenAPI document and its docs page
 * (SPEC §7). Mounted last, because the OpenAPI document describes the whole app.
 *
 * @module
 */
import type { Hono } from "hono";
import { z } from "zod";
import { type ClusterReport, DoctorReport } from "../protocol/operability.ts";
import type { PgCluster } from "../store/open_pg_stores.ts";
import type { AppDeps } from "../deps.ts";
import { countSeats, seatGauges } from "../observe/seat_counts.ts";
import { adminGuard } from "./_http.ts";
import { doc, json } from "./_doc.ts";
import { buildOpenApiDocument, type OpenApiDocument } from "./_openapi.ts";
import { DOCS_CSP, DOCS_HTML, readDocsAsset } from "./_docs_page.ts";
import { type AsyncApiDocument, buildAsyncApiDocument } from "./_asyncapi.ts";
import { SWITCHBOARD_VERSION } from "../observe/build_info.ts";
import type { StreamSlots } from "./_streams.ts";

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const tags = ["operability"];

/** Builds the doctor report. Never fails: a store error lists no ids. */
export async function doctorReport(deps: AppDeps): Promise<DoctorReport> {
  const { config, stores } = deps;
  const ids = await stores.blueprints.listIds().then(
    (series) => series.map((s) => s.id).sort(),
    () => [],
  );
  const seats = countSeats(deps.sessions.values());
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const now = deps.now();
  return {
    bind: config.bound ?? `${host}:${config.port}`,
    blueprint_backend: BLUEPRINT_BACKEND[stores.blueprints.kind],
    blueprint_store_root: stores.kind === "memory" ? null : stores.path,
    blueprint_ref_base: config.blueprintRefBase ?? null,
    enhance_flow_enabled: false,
    seed_blueprint_id: config.seedBlueprintId ?? "main",
    registered_blueprint_ids: ids,
    registered_blueprint_count: ids.length,
    store: { kind: stores.kind, path: stores.path, ...storageUsage(deps) },
    sessions: { total: seats.total, connected: seats.connected, disconnected: seats.disconnected },
    pending: seats.pending,
    live_runs: deps.engine.stats().live_runs,
    api_token_required: config.apiToken !== undefined,
    started_at: new Date(deps.startedAt).toISOString(),
    uptime_secs: Math.max(0, Math.round(now - deps.startedAt) / 1000),
    ...(stores.cluster && { cluster: await clusterReport(stores.cluster) }),
  };
}

/** The KV file's use as last read (none before the first read, and on other stores). */
function storageUsage({ storage }: AppDeps): Pick<DoctorReport["store"], "usage"> {
  const usage = storage?.usage();
  if (!storage || !usage) return {};
  return {
    usage: {
      used_bytes: usage.usedBytes,
      file_bytes: usage.fileBytes,
      max_bytes: storage.maxBytes,
      full: storage.full(),
    },
  };
}

const BLUEPRINT_BACKEND = { kv: "deno_kv", memory: "in_memory", pg: "postgres" } as const;

/** The cluster section: every instance with its last heartbeat and load; none on a store error. */
async function clusterReport(cluster: PgCluster): Promise<ClusterReport> {
  return {
    instance_id: cluster.instanceId,
    run_lease_secs: cluster.leaseSecs,
    bus_reconnects: cluster.bus.reconnects,
    instances: await cluster.list().catch(() => []),
  };
}

/** Mounts the operability routes on `app` (`streams`: the open event streams, for the gauge). */
export function mountOperability(app: Hono, deps: AppDeps, streams?: StreamSlots): void {
  const admin = adminGuard(deps.config.apiToken);
  const gauges = {
    ...seatGauges(() => deps.sessions.values(), deps.now),
    runsInProgress: () => deps.engine.stats().live_runs,
    eventStreams: () => streams?.open() ?? 0,
    storeBytes: () => {
      const usage = deps.storage?.usage();
      if (!deps.storage || !usage) return [];
      return [
        { labels: { kind: "used" }, value: usage.usedBytes },
        { labels: { kind: "file" }, value: usage.fileBytes },
        { labels: { kind: "max" }, value: deps.storage.maxBytes },
      ];
    },
  };
  let document: Promise<OpenApiDocument> | undefined;
  let asyncDocument: AsyncApiDocument | undefined;

  app.get(
    "/v1/doctor",
    doc({
      tags,
      summary: "Report configuration, store, seats, pending requests and uptime",
      responses: { 200: json(DoctorReport, "Never fails; a store error lists no ids.") },
      errors: [401],
      admin: true,
    }),
    admin,
    async (c) => c.json(await doctorReport(deps), 200),
  );
  app.get(
    "/v1/metrics",
    doc({
      tags,
      summary: "Prometheus text exposition (format 0.0.4)",
      description: "Series: switchboard_operator_sessions{state}, " +
        "switchboard_pending_requests{kind}, switchboard_operator_roundtrip_seconds{kind} " +
        "(histogram), switchboard_runs_total{status}, switchboard_hook_after_dropped_total, " +
        "switchboard_http_requests_total{route,status} (route is the pattern, or `unmatched`), " +
        "switchboard_http_request_duration_seconds{method,route,status} (histogram), " +
        "switchboard_runs_in_progress, switchboard_build_info{version}, " +
        "switchboard_event_loop_lag_seconds (histogram), switchboard_kv_file_bytes{kind} " +
        "(used, file, max; a KV file), process_resident_memory_bytes, " +
        "process_cpu_seconds_total, process_start_time_seconds.",
      responses: {
        200: {
          description: "The metrics.",
          content: { "text/plain": { schema: { type: "string" as const } } },
        },
      },
      errors: [401],
      admin: true,
    }),
    admin,
    (c) => c.body(deps.metrics.render(gauges), 200, { "content-type": PROMETHEUS_TYPE }),
  );
  app.get(
    "/v1/openapi.json",
    doc({
      tags,
      summary: "This OpenAPI 3.1 document",
      responses: { 200: json(z.looseObject({ openapi: z.string() }), "The document.") },
    }),
    async (c) => {
      document ??= buildOpenApiDocument(app, {
        publicUrl: deps.config.publicUrl,
        version: SWITCHBOARD_VERSION,
      });
      document.catch(() => document = undefined);
      return c.json(await document, 200);
    },
  );
  app.get(
    "/v1/asyncapi.json",
    doc({
      tags,
      summary: "The AsyncAPI 3.0 document of the operator WebSocket",
      description: "One channel, `/v1/operators/{sid}/ws`; its messages are the frames.",
      responses: {
        200: json(z.looseObject({ asyncapi: z.string() }), "The document."),
      },
    }),
    (c) => {
      asyncDocument ??= buildAsyncApiDocument({
        publicUrl: deps.config.publicUrl,
        version: SWITCHBOARD_VERSION,
      });
      return c.json(asyncDocument, 200);
    },
  );
  app.get(
    "/docs",
    doc({
      tags,
      summary: "Browsable API reference (Swagger UI, served locally)",
      responses: {
        200: {
          description: "The page.",
          content: { "text/html": { schema: { type: "string" as const } } },
        },
      },
    }),
    (c) => {
      c.header("content-security-policy", DOCS_CSP);
      return c.html(DOCS_HTML, 200);
    },
  );
  // `/docs/` is the same page; a redirect keeps the page's relative asset URLs right.
  app.get("/docs/", (c) => c.redirect("../docs", 301));
  app.get(
    "/docs/assets/:file",
    doc({
      tags,
      summary: "A static asset of the docs page",
      responses: { 200: { description: "The asset (CSS, JavaScript or PNG)." } },
      errors: [404],
    }),
    async (c) => {
      const asset = await readDocsAsset(c.req.param("file"));
      return c.body(asset.body, 200, {
        "content-type": asset.type,
        "cache-control": "public, max-age=3600",
      });
    },
  );
}
