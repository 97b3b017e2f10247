import assert from "node:assert/strict";
import { isSwitchboardError } from "../../protocol/errors.ts";
import { matchesReq, parseSemverReq } from "./req.ts";
import { parseSemver } from "./version.ts";

function matches(req: string, version: string): boolean {
  return matchesReq(parseSemverReq(req), parseSemver(version));
}

/** Every release x.y.z with parts in 0..3: the grid the table rows are checked on. */
const GRID = [0, 1, 2, 3].flatMap((a) =>
  [0, 1, 2, 3].flatMap((b) => [0, 1, 2, 3].map((c) => `${a}.${b}.${c}`))
);

/**
 * Each row of the comparator table in reference/blueprint.md §4.4, with I=1, J=2,
 * K=3 (and 0 where the row says so), paired with its stated meaning.
 */
const TABLE: [string, string][] = [
  ["=1.2", ">=1.2.0, <1.3.0"],
  ["=1", ">=1.0.0, <2.0.0"],
  [">1.2", ">=1.3.0"],
  [">1", ">=2.0.0"],
  [">=1.2", ">=1.2.0"],
  [">=1", ">=1.0.0"],
  ["<1.2", "<1.2.0"],
  ["<1", "<1.0.0"],
  ["<=1.2", "<1.3.0"],
  ["<=1", "<2.0.0"],
  ["~1.2.3", ">=1.2.3, <1.3.0"],
  ["~1.2", "=1.2"],
  ["~1", "=1"],
  ["^1.2.3", ">=1.2.3, <2.0.0"],
  ["^0.2.3", ">=0.2.3, <0.3.0"],
  ["^0.0.3", "=0.0.3"],
  ["^1.2", "^1.2.0"],
  ["^0.0", ">=0.0.0, <0.1.0"],
  ["^1", "=1"],
  ["^0", "<1.0.0"],
  ["1.*", "=1"],
  ["1.2.*", "=1.2"],
  ["1.x", "=1"],
  ["1.X", "=1"],
  ["1.2.3", "^1.2.3"],
  ["1.2", "^1.2"],
  ["1", "^1"],
];

Deno.test("semver requirements mean what the §4.4 table says", async (t) => {
  for (const [req, meaning] of TABLE) {
    await t.step(`${req} is ${meaning}`, () => {
      for (const v of GRID) assert.equal(matches(req, v), matches(meaning, v), `${req} on ${v}`);
    });
  }
});

Deno.test("full-version comparators are exact bounds", async (t) => {
  const rows: [string, string[], string[]][] = [
    ["=1.2.3", ["1.2.3"], ["1.2.4", "1.2.2", "1.2.3-alpha"]],
    [">1.2.3", ["1.2.4", "1.3.0", "2.0.0"], ["1.2.3", "1.2.2"]],
    [">=1.2.3", ["1.2.3", "1.2.4", "9.0.0"], ["1.2.2", "0.9.9"]],
    ["<1.2.3", ["1.2.2", "0.0.0"], ["1.2.3", "1.2.4"]],
    ["<=1.2.3", ["1.2.3", "1.2.2"], ["1.2.4", "1.3.0"]],
    ["^1.2.3", ["1.2.3", "1.9.9"], ["1.2.2", "2.0.0"]],
    ["^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]],
    ["^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]],
    ["~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]],
  ];
  for (const [req, yes, no] of rows) {
    await t.step(req, () => {
      for (const v of yes) assert.equal(matches(req, v), true, `${req} should match ${v}`);
      for (const v of no) assert.equal(matches(req, v), false, `${req} should not match ${v}`);
    });
  }
});

Deno.test("a bare wildcard matches every release and no pre-release", () => {
  for (const req of ["*", "x", "X", " * "]) {
    assert.equal(matches(req, "0.0.0"), true);
    assert.equal(matches(req, "123.4.5"), true);
    assert.equal(matches(req, "1.0.0-alpha"), false);
  }
});

Deno.test("a comma joins comparators that must all match", () => {
  assert.equal(matches(">=1.2, <1.5", "1.4.9"), true);
  assert.equal(matches(">=1.2, <1.5", "1.5.0"), false);
  assert.equal(matches(">=1.2,<1.5", "1.1.0"), false);
  assert.equal(matches(">= 1.2 , < 1.5", "1.3.0"), true);
});

Deno.test("a pre-release matches only a comparator with a pre-release on the same version", () => {
  assert.equal(matches(">=1.2.3-alpha", "1.2.3-beta"), true);
  assert.equal(matches(">=1.2.3-alpha", "1.2.3"), true);
  assert.equal(matches(">=1.2.3-alpha", "1.2.4-beta"), false);
  assert.equal(matches(">=1.2.3-beta", "1.2.3-alpha"), false);
  assert.equal(matches("^1.2.3", "1.3.0-alpha"), false);
  assert.equal(matches(">=1.0.0, <2.0.0", "1.5.0-rc.1"), false);
  assert.equal(matches(">=1.5.0-rc.0, <2.0.0", "1.5.0-rc.1"), true);
  assert.equal(matches("=1.2.3-rc.1", "1.2.3-rc.1"), true);
  assert.equal(matches("=1.2.3-rc.1", "1.2.3"), false);
  assert.equal(matches("~1.2.3-rc.1", "1.2.3-rc.2"), true);
  assert.equal(matches("^0.0.3-rc.1", "0.0.3"), true);
  assert.equal(matches("<1.2.3-rc.2", "1.2.3-rc.1"), true);
  assert.equal(matches("1.2.*", "1.2.3-rc.1"), false);
});

Deno.test("build metadata is ignored when matching", () => {
  assert.equal(matches("=1.2.3+build.1", "1.2.3+other"), true);
  assert.equal(matches("^1.2.3", "1.4.0+x"), true);
});

Deno.test("parseSemverReq refuses malformed requirements", async (t) => {
  const bad: [string, string][] = [
    ["", "empty version requirement"],
    ["   ", "empty version requirement"],
    ["*, >1", "wildcard req (*) must be the only comparator in the version req"],
    ["* 1", "unexpected character after wildcard in version req"],
    [">=1.2.3 <2", "expected comma after patch version number, found '<'"],
    ["1.2 || 2", "expected comma after minor version number, found '|'"],
    ["1.2.3 - 2.0.0", "expected comma after patch version number, found '-'"],
    ["v1.2", "unexpected character 'v' while parsing major version number"],
    ["1.*.3", "unexpected character after wildcard in version req"],
    ["1.2-alpha", "expected comma after minor version number, found '-'"],
    ["01.2", "invalid leading zero in major version number"],
    [">=1.2,", "unexpected end of input while parsing major version number"],
    [">=", "unexpected end of input while parsing major version number"],
    ["~>1.2", "unexpected character '>' while parsing major version number"],
    [Array(33).fill("1").join(","), "excessive number of version comparators (max 32)"],
  ];
  for (const [text, detail] of bad) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseSemverReq(text), (err) => {
        assert.ok(isSwitchboardError(err, "bad_request"));
        assert.equal(err.message, `invalid semver req "${text}": ${detail}`);
        return true;
      });
    });
  }
});

Deno.test("an operator before a wildcard keeps the operator", () => {
  assert.deepEqual(parseSemverReq(">=1.*").comparators, [{ op: ">=", major: 1, pre: [] }]);
  assert.equal(matches(">1.*", "1.9.0"), false);
  assert.equal(matches(">1.*", "2.0.0"), true);
  assert.deepEqual(parseSemverReq("1.2.*").comparators, [{ op: "*", major: 1, minor: 2, pre: [] }]);
});
