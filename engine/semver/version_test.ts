import assert from "node:assert/strict";
import { isSwitchboardError } from "../../protocol/errors.ts";
import { compareSemver, formatSemver, isSemver, parseSemver } from "./version.ts";

Deno.test("parseSemver reads every part of a full version", () => {
  assert.deepEqual(parseSemver("1.22.333-alpha.1.x-y+build.007"), {
    major: 1,
    minor: 22,
    patch: 333,
    pre: ["alpha", "1", "x-y"],
    build: ["build", "007"],
  });
  assert.deepEqual(parseSemver("0.0.0"), { major: 0, minor: 0, patch: 0, pre: [], build: [] });
});

Deno.test("parseSemver refuses anything but strict MAJOR.MINOR.PATCH[-pre][+build]", async (t) => {
  const bad: [string, string][] = [
    ["", "unexpected end of input while parsing major version number"],
    ["v1.0.0", "unexpected character 'v' while parsing major version number"],
    ["1.0", "unexpected end of input while parsing minor version number"],
    ["1", "unexpected end of input while parsing major version number"],
    ["1.0.0.0", "unexpected character '.' after patch version number"],
    [" 1.0.0", "unexpected character ' ' while parsing major version number"],
    ["1.0.0 ", "unexpected character ' ' after patch version number"],
    ["01.0.0", "invalid leading zero in major version number"],
    ["1.00.0", "invalid leading zero in minor version number"],
    ["1.0.0-01", "invalid leading zero in pre-release identifier"],
    ["1.0.0-", "empty identifier segment in pre-release identifier"],
    ["1.0.0-a..b", "empty identifier segment in pre-release identifier"],
    ["1.0.0+", "empty identifier segment in build metadata"],
    ["1.0.0-a_b", "unexpected character '_' after pre-release identifier"],
    ["1.*.0", "unexpected character '*' while parsing minor version number"],
    ["99999999999999999999.0.0", "value of major version number exceeds 9007199254740991"],
  ];
  for (const [text, detail] of bad) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseSemver(text), (err) => {
        assert.ok(isSwitchboardError(err, "bad_request"));
        assert.equal(err.message, `invalid semver "${text}": ${detail}`);
        return true;
      });
      assert.equal(isSemver(text), false);
    });
  }
});

Deno.test("parseSemver accepts leading zeros in build metadata", () => {
  assert.equal(isSemver("1.0.0+001"), true);
  assert.equal(isSemver("1.0.0-0.3.7"), true);
});

Deno.test("compareSemver orders versions by SemVer 2.0 precedence", () => {
  const ordered = [
    "0.9.9",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "1.10.0",
    "2.0.0",
  ];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = 0; j < ordered.length; j++) {
      const c = compareSemver(parseSemver(ordered[i]), parseSemver(ordered[j]));
      assert.equal(c, Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
    }
  }
});

Deno.test("compareSemver ignores build metadata", () => {
  assert.equal(compareSemver(parseSemver("1.0.0+a"), parseSemver("1.0.0+b")), 0);
});

Deno.test("formatSemver writes the parsed text back", () => {
  for (const text of ["1.2.3", "1.2.3-rc.1", "1.2.3+b.5", "0.0.1-x+y"]) {
    assert.equal(formatSemver(parseSemver(text)), text);
  }
});
