// @ts-check
/// <reference lib="dom" />
/**
 * Invite links: `/console#sid=…&token=…` joins that seat at once. The token sits
 * in the fragment, which browsers never send to a server.
 *
 * @module
 */

/** The invite link of a seat. @param {{ sid: string, token: string }} seat */
export function inviteLink(seat) {
  const params = new URLSearchParams({ sid: seat.sid, token: seat.token });
  return `${location.origin}/console#${params}`;
}

/** The seat an address fragment invites to, or null. @param {string} hash */
export function inviteFromHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const sid = params.get("sid")?.trim();
  const token = params.get("token")?.trim();
  return sid && token ? { sid, token } : null;
}
