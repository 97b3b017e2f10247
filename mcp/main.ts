/**
 * `deno task mcp`: a stdio MCP server that seats the calling AI agent as a
 * Switchboard operator. Env: `SWITCHBOARD_URL` (default http://127.0.0.1:7777)
 * and `SWITCHBOARD_API_TOKEN` (when the server requires it). Stdout carries the
 * MCP protocol; diagnostics go to stderr.
 *
 * @module
 */
import process from "node:process";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createSwitchboardMcp } from "./server.ts";

const url = Deno.env.get("SWITCHBOARD_URL") || "http://127.0.0.1:7777";
const apiToken = Deno.env.get("SWITCHBOARD_API_TOKEN") || undefined;

const mcp = createSwitchboardMcp({ url, apiToken });
const transport = new StdioServerTransport();
let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  await mcp.close().catch(() => {});
  await mcp.server.close().catch(() => {});
  Deno.exit(0);
};
transport.onclose = () => void shutdown();
// The client closing our stdin ends the session.
process.stdin.on("end", () => void shutdown());
Deno.addSignalListener("SIGINT", () => void shutdown());
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => void shutdown());
await mcp.server.connect(transport);
console.error(`switchboard-mcp: ready (server ${url})`);
