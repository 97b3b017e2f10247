/**
 * A typed REST client for the admin routes, built from one table of routes and
 * the server's own zod schemas (protocol/): each method's body type is the
 * schema the route validates with, its answer type the schema it documents, and
 * its path parameters come from the path template. Answers are checked against
 * those schemas at run time too. Non-2xx answers throw `SwitchboardError` with
 * the server's `error` text and its `code` in `extra.code`.
 *
 * @example Mint a seat, run a task, read a run
 * ```ts ignore
 * import { createRestClient } from "./rest.ts";
 * const api = createRestClient({ url: "http://127.0.0.1:7777" });
 * const { sid } = await api.mintSeat({ body: { roles: ["reviewer"] } });
 * const { run_id } = await api.startRun({
 *   body: { blueprint: { kind: "id", id: "main" }, init_ctx: { n: 1 } },
 * });
 * const run = await api.getRun({ params: { id: run_id } });
 * ```
 *
 * @module
 */
import type { z } from "../protocol/zod.ts";
import {
  Inbox,
  type InboxKind,
  MintedOperator,
  MintOperatorBody,
  OperatorList,
} from "../protocol/operators.ts";
import { RunAccepted, RunInfo, RunList, TaskBody, TaskResult } from "../protocol/tasks.ts";
import { Blueprint } from "../protocol/blueprint.ts";
import {
  BlueprintAtVersion,
  BlueprintHead,
  BlueprintHistory,
  BlueprintList,
  BlueprintRegistered,
} from "../protocol/blueprint_store.ts";
import { DoctorReport } from "../protocol/operability.ts";
import { EventsTicket } from "../protocol/sse.ts";
import { type HttpOptions, requestJson } from "./http.ts";

/** One route: method, path template (`:name` parameters), body and answer schemas. */
export interface RouteSpec {
  method: "GET" | "POST" | "DELETE";
  path: string;
  /** The body schema, when the route takes one. */
  body: z.ZodType | undefined;
  /** Query parameters the route reads (names to their value types; types only). */
  query: Record<string, string | number | boolean> | undefined;
  /** The answer schema, or null for 204. */
  answer: z.ZodType | null;
}

type Route<
  M extends RouteSpec["method"],
  P extends string,
  B extends z.ZodType | undefined,
  A extends z.ZodType | null,
  Q extends Record<string, string | number | boolean> | undefined = undefined,
> = { method: M; path: P; body: B; query: Q; answer: A };

/** Every route the REST client calls, by method name: the schemas are protocol/'s own. */
export interface RestRoutes {
  mintSeat: Route<
    "POST",
    "/v1/operators",
    typeof MintOperatorBody,
    typeof MintedOperator
  >;
  listSeats: Route<"GET", "/v1/operators", undefined, typeof OperatorList>;
  inbox: Route<
    "GET",
    "/v1/inbox",
    undefined,
    typeof Inbox,
    {
      role?: string;
      run_id?: string;
      kind?: InboxKind;
      older_than_secs?: number;
      limit?: number;
    }
  >;
  runTask: Route<"POST", "/v1/tasks", typeof TaskBody, typeof TaskResult>;
  startRun: Route<"POST", "/v1/runs", typeof TaskBody, typeof RunAccepted>;
  listRuns: Route<
    "GET",
    "/v1/runs",
    undefined,
    typeof RunList,
    { limit?: number; status?: RunInfo["status"] }
  >;
  getRun: Route<"GET", "/v1/runs/:id", undefined, typeof RunInfo>;
  cancelRun: Route<"DELETE", "/v1/runs/:id", undefined, typeof RunInfo>;
  eventsTicket: Route<
    "POST",
    "/v1/runs/:id/events/ticket",
    undefined,
    typeof EventsTicket
  >;
  listBlueprints: Route<
    "GET",
    "/v1/blueprints",
    undefined,
    typeof BlueprintList,
    { include_archived?: boolean }
  >;
  registerBlueprint: Route<
    "POST",
    "/v1/blueprints/:id",
    typeof Blueprint,
    typeof BlueprintRegistered
  >;
  getBlueprint: Route<
    "GET",
    "/v1/blueprints/:id",
    undefined,
    typeof BlueprintAtVersion,
    { version?: string }
  >;
  blueprintHead: Route<
    "GET",
    "/v1/blueprints/:id/head",
    undefined,
    typeof BlueprintHead
  >;
  blueprintHistory: Route<
    "GET",
    "/v1/blueprints/:id/history",
    undefined,
    typeof BlueprintHistory,
    { limit?: number }
  >;
  archiveBlueprint: Route<"DELETE", "/v1/blueprints/:id", undefined, null>;
  unarchiveBlueprint: Route<
    "POST",
    "/v1/blueprints/:id/unarchive",
    undefined,
    null
  >;
  doctor: Route<"GET", "/v1/doctor", undefined, typeof DoctorReport>;
}

/** One runtime route; query types exist only at the type level. */
function r<
  M extends RouteSpec["method"],
  P extends string,
  B extends z.ZodType | undefined,
  A extends z.ZodType | null,
  Q extends RouteSpec["query"] = undefined,
>(method: M, path: P, body: B, answer: A): Route<M, P, B, A, Q> {
  return { method, path, body, query: undefined as Q, answer }; // Q: a type-only marker
}

/** The route table itself (its type is {@link RestRoutes}). */
const REST_ROUTES: RestRoutes = {
  mintSeat: r("POST", "/v1/operators", MintOperatorBody, MintedOperator),
  listSeats: r("GET", "/v1/operators", undefined, OperatorList),
  inbox: r("GET", "/v1/inbox", undefined, Inbox),
  runTask: r("POST", "/v1/tasks", TaskBody, TaskResult),
  startRun: r("POST", "/v1/runs", TaskBody, RunAccepted),
  listRuns: r("GET", "/v1/runs", undefined, RunList),
  getRun: r("GET", "/v1/runs/:id", undefined, RunInfo),
  cancelRun: r("DELETE", "/v1/runs/:id", undefined, RunInfo),
  eventsTicket: r("POST", "/v1/runs/:id/events/ticket", undefined, EventsTicket),
  listBlueprints: r("GET", "/v1/blueprints", undefined, BlueprintList),
  registerBlueprint: r("POST", "/v1/blueprints/:id", Blueprint, BlueprintRegistered),
  getBlueprint: r("GET", "/v1/blueprints/:id", undefined, BlueprintAtVersion),
  blueprintHead: r("GET", "/v1/blueprints/:id/head", undefined, BlueprintHead),
  blueprintHistory: r("GET", "/v1/blueprints/:id/history", undefined, BlueprintHistory),
  archiveBlueprint: r("DELETE", "/v1/blueprints/:id", undefined, null),
  unarchiveBlueprint: r("POST", "/v1/blueprints/:id/unarchive", undefined, null),
  doctor: r("GET", "/v1/doctor", undefined, DoctorReport),
};

/** `{id: string}` for `/v1/runs/:id`; `{}` for a path without parameters. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}` ? { [K in Name]: string }
  : Record<never, never>;

type NonEmpty<T> = keyof T extends never ? false : true;

/** The argument of one method: `params`, `query` and `body` where the route has them. */
export type RestArgs<S extends RouteSpec> =
  & (NonEmpty<PathParams<S["path"]>> extends true ? { params: PathParams<S["path"]> }
    : { params?: undefined })
  & (S["body"] extends z.ZodType ? { body: z.infer<S["body"]> }
    : { body?: undefined })
  & (S["query"] extends object ? { query?: S["query"] } : { query?: undefined })
  & { signal?: AbortSignal };

/** The answer of one method (`void` for 204). */
export type RestAnswer<S extends RouteSpec> = S["answer"] extends z.ZodType ? z.infer<S["answer"]>
  : void;

/** A method of the client. Routes without a required part may be called with no argument. */
export type RestMethod<S extends RouteSpec> = NonEmpty<PathParams<S["path"]>> extends true
  ? (args: RestArgs<S>) => Promise<RestAnswer<S>>
  : S["body"] extends z.ZodType ? (args: RestArgs<S>) => Promise<RestAnswer<S>>
  : (args?: RestArgs<S>) => Promise<RestAnswer<S>>;

/** The typed REST client: one method per entry of {@link REST_ROUTES}. */
export type RestClient = { [K in keyof RestRoutes]: RestMethod<RestRoutes[K]> };

/** Fills `:name` parameters of `path` (URL-encoded). */
function fillPath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) {
      throw new TypeError(`missing path parameter ${name}`);
    }
    return encodeURIComponent(value);
  });
}

function withQuery(path: string, query: Record<string, unknown> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/** Creates the REST client for the server at `options.url`. */
export function createRestClient(options: HttpOptions): RestClient {
  const client: Record<string, unknown> = {};
  for (
    const [name, spec] of Object.entries(REST_ROUTES) as Array<
      [string, RouteSpec]
    >
  ) {
    client[name] = (args: {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
      signal?: AbortSignal;
    } = {}) => {
      const path = withQuery(fillPath(spec.path, args.params), args.query);
      const http = { ...options, signal: args.signal ?? options.signal };
      return requestJson(http, spec.method, path, spec.answer, args.body);
    };
  }
  // Built from REST_ROUTES entry by entry above; RestClient is the same table's type.
  return client as RestClient;
}
