/**
 * The sweep's hostile HTTP inputs: path segments, bodies (deep, huge, wrong types,
 * prototype keys, lone surrogates, bad UTF-8, YAML bombs), headers and queries.
 *
 * @module
 */
import type { Rng } from "./_sweep.ts";

/** A route of the OpenAPI document, with its body examples and fields. */
export interface Route {
  method: string;
  path: string;
  bodyTypes: string[];
  /** The OpenAPI examples of the body, the starting points of mutations. */
  examples: unknown[];
  fields: string[];
}

const MiB = 1024 * 1024;

/** Path segments a client may send for an id. */
export const SEGMENTS = [
  "main",
  "op-00000000-0000-0000-0000-000000000000",
  "run-00000000-0000-0000-0000-000000000000",
  "a".repeat(3_000),
  "b".repeat(70_000),
  "%00",
  "x%00y",
  "..",
  "%2e%2e",
  "..%2f..%2fetc%2fpasswd",
  "%2F",
  "%ff%fe",
  "%c0%ae",
  "%",
  "%zz",
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "%F0%9F%92%A9",
  "%ED%A0%80", // a lone surrogate, UTF-8 encoded
  "' OR 1=1 --",
  "%0d%0aX-Injected:%20yes",
  "0",
  "-1",
  "1e309",
];

/** Values of the wrong type (or an extreme one) for any field. */
function hostileValue(r: Rng, depth = 0): unknown {
  switch (r.int(16)) {
    case 0:
      return null;
    case 1:
      return r.pick([true, false]);
    case 2:
      return r.pick([0, -1, -0, 1e308, -1e308, 2 ** 53 + 1, 4294967296, 1.5, Number.MIN_VALUE]);
    case 3:
      return "x".repeat(r.pick([0, 1, 257, 2_049, 70_000, 1_000_000]));
    case 4:
      return "\ud800" + "\udfff" + "\u0000" + "\u202e";
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return depth < 2 ? Array.from({ length: r.int(5) }, () => hostileValue(r, depth + 1)) : [1];
    case 8:
      return JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"p":1}}}');
    case 9:
      return Array.from({ length: r.pick([1_000, 100_000]) }, (_, i) => `r${i}`);
    case 10:
      return "op-" + crypto.randomUUID();
    case 11:
      return { kind: r.pick(["inline", "id", "fixed", "latest", "semver_req", "lua", ""]) };
    case 12:
      return r.pick(["$", "$.a", "'x'", "$[", "((((", "1/0", "true && ", "$..a"]);
    case 13:
      return "T-" + "9".repeat(r.pick([1, 16, 400]));
    case 14:
      return r.pick(["-1", "NaN", "Infinity", "1e999", "0x10"]);
    default:
      return depth < 3 ? { [r.pick(["a", "__proto__", "value"])]: hostileValue(r, depth + 1) } : 0;
  }
}

function deepText(r: Rng): string {
  const depth = r.pick([129, 1_000, 100_000, 1_000_000]);
  const [open, close] = r.pick([["[", "]"], ['{"a":', "}"]]);
  return open.repeat(depth) + "1" + close.repeat(depth);
}

/** A body: JSON text made hostile one of many ways, and its content type. */
export function hostileBody(r: Rng, route: Route): { body: BodyInit; type: string | null } {
  const json = "application/json";
  const example = route.examples.length
    ? structuredClone(r.pick(route.examples)) as Record<string, unknown>
    : {};
  switch (r.int(14)) {
    case 0:
      return { body: deepText(r), type: json };
    case 1: {
      // a string just under, and just over, the 2 MiB body limit
      const size = 2 * MiB - r.pick([64, -64, 1, -1]);
      return { body: `{"x":"${"y".repeat(size - 8)}"}`, type: json };
    }
    case 2: {
      // a field of the wrong type
      const field = r.pick(route.fields.length ? route.fields : ["x"]);
      const body = { ...example, [field]: hostileValue(r) };
      return { body: JSON.stringify(body), type: json };
    }
    case 3: {
      // every field wrong
      const body: Record<string, unknown> = {};
      for (const f of route.fields) body[f] = hostileValue(r);
      return { body: JSON.stringify(body), type: json };
    }
    case 4:
      return {
        body: `{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},` +
          JSON.stringify(example).slice(1),
        type: json,
      };
    case 5:
      return {
        body: r.pick([
          "",
          "{",
          "null",
          "[]",
          "true",
          "1e400",
          '"x"',
          "{} {}",
          '{"a":1,}',
          "{'a':1}",
          "\ufeff{}",
          "{/*c*/}",
          '{"a":NaN}',
          '{"a":"\\ud800"}',
          '{"a":"\\u00"}',
          "123456789012345678901234567890123456789",
          '{"a":1e99999}',
          '{"a":-0}',
          '{"a":' + "9".repeat(100_000) + "}",
        ]),
        type: json,
      };
    case 6: {
      // invalid UTF-8 bytes inside a JSON string
      const text = new TextEncoder().encode(JSON.stringify(example));
      const bytes = new Uint8Array([
        ...text.slice(0, -1),
        0x2c,
        0x22,
        0x62,
        0x22,
        0x3a,
        0x22,
        0xff,
        0xc0,
        0x22,
        0x7d,
      ]);
      return { body: bytes, type: json };
    }
    case 7:
      return {
        body: JSON.stringify(example),
        type: r.pick([
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/json; charset=utf-16",
          "application/json;;;",
          "application/jsonx",
          "APPLICATION/JSON",
          "*/*",
          "application/yaml",
          "",
          "x".repeat(10_000),
        ]),
      };
    case 8:
      return { body: JSON.stringify(example), type: null };
    case 9:
      // keys: thousands of them, or long ones
      return {
        body: JSON.stringify({
          ...example,
          ...Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i])),
        }),
        type: json,
      };
    case 10:
      return { body: JSON.stringify({ ...example, ["k".repeat(1_500_000)]: 1 }), type: json };
    case 11: {
      // a YAML body: aliases, deep flow collections, tags
      const yaml = r.pick([
        "a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n",
        "[".repeat(50_000) + "]".repeat(50_000),
        "a: !!js/function 'function(){}'\n",
        "a: !!binary AAAA\nb: !!set {x}\nc: !!omap [a: 1]\n",
        "a: " + "- ".repeat(5_000) + "x\n",
        "&a [*a]\n",
        "<<: *missing\n",
        "%YAML 9.9\n---\na: 1\n",
        "a: 1\n".repeat(100_000),
        Array.from({ length: r.pick([6_000, 20_000]) }, (_, i) => `k${i}: 1\n`).join(""),
        "{" + Array.from({ length: 6_000 }, (_, i) => `k${i}: &a${i} 1`).join(",") + "}",
        "- ".repeat(r.pick([129, 20_000])) + "x",
        "? ".repeat(200) + "x",
      ]);
      return { body: yaml, type: r.pick(["application/yaml", "text/yaml"]) };
    }
    case 12:
      return {
        body: new Uint8Array(r.int(4_096)).map(() => r.int(256)),
        type: r.pick([json, null]),
      };
    default:
      return { body: JSON.stringify(example), type: json };
  }
}

/** Headers a hostile client sends. */
export function hostileHeaders(r: Rng): [string, string][] {
  const pairs: [string, string][] = [];
  const n = r.int(3);
  for (let i = 0; i < n; i++) {
    pairs.push(r.pick<[string, string]>([
      ["authorization", "Bearer"],
      ["authorization", "Bearer "],
      ["authorization", "Bearer  x"],
      ["authorization", "bearer x"],
      ["authorization", "Basic dXNlcjpwYXNz"],
      ["authorization", "Bearer " + "t".repeat(20_000)],
      ["authorization", "Bearer a b c"],
      ["authorization", "Bearer \u00ff\u00fe"],
      ["authorization", "Token x"],
      ["x-forwarded-for", "1.2.3.4, ::1, " + "9".repeat(2_000)],
      ["x-big", "v".repeat(r.pick([8_000, 60_000, 200_000]))],
      ["last-event-id", r.pick(["-1", "1e309", "abc", "9".repeat(400)])],
      ["accept", "text/event-stream"],
      ["sec-websocket-protocol", "bearer, " + "z".repeat(5_000)],
      ["upgrade", "websocket"],
      ["connection", "upgrade"],
      ["transfer-encoding", "chunked"],
      ["content-encoding", "gzip"],
      ["expect", "100-continue"],
      ["origin", "http://evil.example"],
      ["cookie", "a=" + "c".repeat(4_000)],
    ]));
  }
  return pairs;
}

export const QUERIES = [
  "",
  "?limit=-1",
  "?limit=0",
  "?limit=1e309",
  "?limit=abc",
  "?limit=99999999999999999999",
  "?limit=1&limit=2",
  "?status=__proto__",
  "?status=running&status=failed",
  "?version=" + "f".repeat(64),
  "?version=>=1.0.0 <0.0.0 || ^99",
  "?version=%00",
  "?task_id=%ff",
  "?wait_secs=1e9",
  "?wait_secs=-5",
  "?ticket=" + "q".repeat(5_000),
  "?q=" + "%25".repeat(10_000),
  "?before=not-a-date",
  "?before=999999999-12-31T00:00:00Z",
  "?a[b][c]=1&__proto__[x]=1",
  "?" + "k=v&".repeat(20_000),
  "?%zz=%zz",
  "?client=" + "c".repeat(3_000),
];
