// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Reads a Server-Sent Events stream with `fetch`, for when a bearer token must be
 * sent (an `EventSource` cannot set headers). Resumes with `Last-Event-ID`.
 *
 * @module
 */

const RETRY_MS = 2000;

/**
 * @param {string} url
 * @param {string} token
 * @param {{ onEvent: (type: string, data: string) => void, onState: (text: string) => void }} handlers
 * @returns {() => void} stops reading
 */
export function readEventStream(url, token, handlers) {
  const controller = new AbortController();
  let lastId = "";

  async function run() {
    while (!controller.signal.aborted) {
      try {
        /** @type {Record<string, string>} */
        const headers = { authorization: `Bearer ${token}`, accept: "text/event-stream" };
        if (lastId) headers["last-event-id"] = lastId;
        const res = await fetch(url, { headers, signal: controller.signal });
        if (res.status === 204) {
          // The run has ended and nothing is left after Last-Event-ID.
          handlers.onState("(stream closed)");
          return;
        }
        if (!res.ok || !res.body) {
          handlers.onState(`(stream failed: HTTP ${res.status})`);
          return;
        }
        handlers.onState("(live)");
        let buffer = "";
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let type = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) type = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
              else if (line.startsWith("id:")) lastId = line.slice(3).trim();
            }
            if (data.length > 0) handlers.onEvent(type, data.join("\n"));
            if (controller.signal.aborted) return;
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      handlers.onState("(reconnecting…)");
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  run();
  return () => controller.abort();
}
