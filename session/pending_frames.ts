/**
 * How the single-server seat's pending requests go out. Its request book holds
 * a spawn's frame without the directive text (about 2 KiB a request, the same
 * for every spawn of an agent); the text is rendered again, identically,
 * whenever the frame is sent or listed.
 *
 * @module
 */
import type { RequestFrame } from "../protocol/frames.ts";
import { spawnDirective, spawnDirectiveJson } from "./directive.ts";
import type { BookEntry } from "./request_book.ts";
import type { SocketSlot } from "./socket_slot.ts";

/** A spawn frame's directive key in its JSON text, and the book's empty one. */
const DIRECTIVE_KEY = '"directive":';
const EMPTY_DIRECTIVE = `${DIRECTIVE_KEY}""`;

/** The directive of a spawn of `agent` for `taskId`, under the server's public URL. */
export function directiveOf(
  publicUrl: string,
  agent: string,
  taskId: string,
  alias: string | undefined,
): string {
  return spawnDirective({ baseUrl: publicUrl, agent, taskId, alias });
}

/** The frame of a pending request as sent. */
export function pendingFrame(entry: BookEntry, publicUrl: string): RequestFrame {
  const { frame } = entry.record;
  if (!entry.lazy || frame.type !== "spawn") return frame;
  return {
    ...frame,
    directive: directiveOf(publicUrl, frame.agent, frame.task_id, entry.lazy.alias),
  };
}

/**
 * Sends a pending request's frame on `slot`. A spawn whose directive the book
 * leaves out goes as the book's frame text with the directive's ASCII JSON put
 * in its place: the same value once parsed, one byte a character (its `—` would
 * make the whole text two), and the directive string itself is not built again.
 */
export function sendPending(slot: SocketSlot, entry: BookEntry, publicUrl: string): boolean {
  const { frame } = entry.record;
  if (!entry.lazy || frame.type !== "spawn" || frame.directive !== "") {
    return slot.send(pendingFrame(entry, publicUrl));
  }
  const text = JSON.stringify(frame);
  // the first `"directive":""` is the frame's own key: every field before it is a
  // plain value, and quotes inside strings are escaped
  const at = text.indexOf(EMPTY_DIRECTIVE);
  if (at < 0) return slot.send(pendingFrame(entry, publicUrl));
  const directive = spawnDirectiveJson({
    baseUrl: publicUrl,
    agent: frame.agent,
    taskId: frame.task_id,
    alias: entry.lazy.alias,
  });
  return slot.sendText(
    `${text.slice(0, at + DIRECTIVE_KEY.length)}${directive}${
      text.slice(at + EMPTY_DIRECTIVE.length)
    }`,
  );
}
