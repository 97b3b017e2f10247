import assert from "node:assert/strict";
import type { StepRecord } from "../protocol/runs.ts";
import { createTask, type TaskState } from "./tasks.ts";
import { addStep, addTask, findStep, findTask, SCAN_MAX } from "./run_types.ts";

const step = (taskId: string, attempt: number, seq: number): StepRecord => ({
  seq,
  key: `/k${seq}`,
  task_id: taskId,
  agent: "a",
  attempt,
  verdict: "running",
  started_at: 0,
});

Deno.test("findStep scans a short run and keeps finding every step once its map is made", () => {
  const run: { steps: StepRecord[]; stepsById?: Map<string, StepRecord> } = { steps: [] };
  const all: StepRecord[] = [];
  for (let i = 0; i < SCAN_MAX * 3; i++) {
    const s = step(`T-${i % 5}`, Math.floor(i / 5) + 1, i + 1);
    addStep(run, s);
    all.push(s);
    // every step so far is found, before and after the map is made
    for (const t of all) assert.equal(findStep(run, t.task_id, t.attempt), t);
    assert.equal(findStep(run, "T-none", 1), undefined);
  }
  assert.ok(run.stepsById, "a long run has its map");
  assert.equal(run.stepsById.size, SCAN_MAX * 3);
});

Deno.test("findTask answers the newest task of a key, scanned or mapped", () => {
  const run: { tasks: TaskState[]; tasksByKey?: Map<string, TaskState> } = { tasks: [] };
  const newest = new Map<string, TaskState>();
  for (let i = 0; i < SCAN_MAX * 3; i++) {
    const key = `/k${i % 4}`; // each key dispatched again: a newer task
    const task = createTask("run-1", key, "a", "x", i);
    addTask(run, task);
    newest.set(key, task);
    for (const [k, t] of newest) assert.equal(findTask(run, k), t);
    assert.equal(findTask(run, "/none"), undefined);
  }
  assert.ok(run.tasksByKey, "a long run has its map");
});
