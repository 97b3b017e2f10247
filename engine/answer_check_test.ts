import assert from "node:assert/strict";
import { SwitchboardError } from "../protocol/errors.ts";
import { answerCheck, MAX_CHECKS_PER_PARTY } from "./answer_check.ts";

const NUMBER = { type: "number" };

Deno.test("answerCheck() takes one job of each party in turn", async () => {
  await answerCheck(NUMBER, 1, "seat:warm"); // the worker is up and idle
  const order: string[] = [];
  const check = (party: string, n: number) =>
    answerCheck(NUMBER, n, party).then(() => order.push(`${party}#${n}`));
  const all = [1, 2, 3, 4, 5, 6].map((n) => check("seat:busy", n));
  all.push(check("seat:other", 1));
  await Promise.all(all);
  // the busy seat's first job was taken at once, its second next; then the other seat's
  assert.deepEqual(order.slice(0, 4), [
    "seat:busy#1",
    "seat:busy#2",
    "seat:other#1",
    "seat:busy#3",
  ]);
});

Deno.test("answerCheck() refuses a party past its waiting jobs with 503, and not the others", async () => {
  await answerCheck(NUMBER, 1, "seat:warm");
  const outcomes = await Promise.allSettled(
    Array.from(
      { length: MAX_CHECKS_PER_PARTY + 8 },
      (_, n) => answerCheck(NUMBER, n, "seat:flood"),
    ),
  );
  const refused = outcomes.filter((o) => o.status === "rejected");
  assert.ok(refused.length >= 7, `${refused.length} refused`);
  for (const o of refused) {
    const err = (o as PromiseRejectedResult).reason;
    assert.ok(err instanceof SwitchboardError && err.status === 503, String(err));
    assert.match(err.message, /too many answer schema jobs waiting \(32 of seat:flood\)/);
  }
  // the first jobs were checked: the answer 0..n is a number
  assert.deepEqual(outcomes[0], { status: "fulfilled", value: [] });
  // another seat is checked meanwhile (the answer "x" is not a number: one issue)
  assert.equal((await answerCheck(NUMBER, "x", "seat:calm")).length, 1);
});
