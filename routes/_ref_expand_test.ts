import assert from "node:assert/strict";
import { isSwitchboardError } from "../protocol/errors.ts";
import { sha256Hex } from "../engine/crypto.ts";
import { expandRefs, REF_LIMITS } from "./_ref_expand.ts";

const AGENT_MD = [
  "---",
  "name: reviewer",
  "description: Reviews a patch",
  "model: big",
  "effort: 3",
  "tools: read, grep ,",
  "team: core",
  "---",
  "You review {{ directive }}.",
].join("\n");

/** A temporary base directory holding `files`, removed after `fn`. */
async function withBase(
  files: Record<string, string | Uint8Array>,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "sb-refs-" });
  try {
    for (const [path, content] of Object.entries(files)) {
      const dir = path.includes("/") ? `${base}/${path.slice(0, path.lastIndexOf("/"))}` : base;
      await Deno.mkdir(dir, { recursive: true });
      if (typeof content === "string") await Deno.writeTextFile(`${base}/${path}`, content);
      else await Deno.writeFile(`${base}/${path}`, content);
    }
    await fn(base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** The `ref expand: …` text `promise` rejects with (a 400). */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isSwitchboardError(err, "bad_request"), String(err));
    assert.match(err.message, /^ref expand: /);
    return err.message;
  }
  assert.fail("expected a refusal");
}

Deno.test("$file becomes the file's text anywhere; an object with more keys stays as it is", async () => {
  await withBase({ "prompts/x.txt": "héllo\n", "y.txt": "why" }, async (base) => {
    const body = {
      id: "bp",
      flow: { kind: "step", ref: "a", in: { op: "lit", value: { $file: "prompts/x.txt" } } },
      hints: [{ $file: "y.txt" }, { $file: "y.txt", other: 1 }, { $file: 3 }],
    };
    assert.deepEqual(await expandRefs(body, { base }), {
      id: "bp",
      flow: { kind: "step", ref: "a", in: { op: "lit", value: "héllo\n" } },
      hints: ["why", { $file: "y.txt", other: 1 }, { $file: 3 }],
    });
  });
});

Deno.test("a body without references comes back as the same value", async () => {
  await withBase({}, async (base) => {
    const body = { id: "bp", agents: [{ name: "a", kind: "rust_fn" }] };
    assert.equal(await expandRefs(body, { base }), body);
  });
});

Deno.test("$agent_md builds an agent from front matter and prompt; siblings replace keys", async () => {
  await withBase({ "agents/reviewer.md": AGENT_MD }, async (base) => {
    const body = {
      agents: [{ $agent_md: "agents/reviewer.md", spec: { operator_ref: "ops" } }],
    };
    const out = await expandRefs(body, { base }) as { agents: unknown[] };
    assert.deepEqual(out.agents[0], {
      name: "reviewer",
      kind: "operator",
      spec: { operator_ref: "ops" },
      profile: {
        system_prompt: "You review {{ directive }}.",
        description: "Reviews a patch",
        model: "big",
        effort: "3",
        tools: ["read", "grep"],
        extras: { team: "core" },
        version_hash: await sha256Hex("You review {{ directive }}."),
      },
      meta: null,
    });
  });
});

Deno.test("$agent_md kind: the sibling, the body's default_agent_kind, the server's, operator", async () => {
  const md = "---\nname: a\ntools: [x, y]\n---\nhi";
  await withBase({ "a.md": md }, async (base) => {
    const kindOf = async (body: Record<string, unknown>, server?: "rust_fn") => {
      const out = await expandRefs(body, { base, defaultAgentKind: server }) as {
        agents: Array<{ kind: string; profile: { tools: string[] } }>;
      };
      assert.deepEqual(out.agents[0].profile.tools, ["x", "y"]);
      return out.agents[0].kind;
    };
    const ref = { $agent_md: "a.md" };
    assert.equal(await kindOf({ agents: [{ ...ref, kind: "subprocess" }] }), "subprocess");
    // a sibling replaces the key whatever it holds: the Blueprint parse then refuses it
    assert.equal(await kindOf({ agents: [{ ...ref, kind: "nope" }] }), "nope");
    assert.equal(await kindOf({ default_agent_kind: "rust_fn", agents: [ref] }), "rust_fn");
    assert.equal(await kindOf({ agents: [ref] }, "rust_fn"), "rust_fn");
    assert.equal(await kindOf({ agents: [ref] }), "operator");
  });
});

Deno.test("paths must be relative, without '..', and stay under the base past symbolic links", async () => {
  await withBase({ "in/ok.txt": "ok" }, async (base) => {
    const outside = await Deno.makeTempFile();
    try {
      await Deno.symlink(outside, `${base}/in/escape.txt`);
      await Deno.mkdir(`${base}/dir.txt`);
      const refused = (path: string) => refusal(expandRefs({ x: { $file: path } }, { base }));
      assert.match(await refused("/etc/passwd"), /absolute path not allowed/);
      assert.match(await refused("in/../../etc/passwd"), /'\.\.' not allowed/);
      assert.match(await refused("in/escape.txt"), /outside the Blueprint dir/);
      assert.match(await refused("in/missing.txt"), /no such file/);
      assert.match(await refused("dir.txt"), /not a file/);
      assert.match(await refused(""), /empty or invalid path/);
      assert.equal(
        await refused("/etc/passwd"),
        'ref expand: $file ref expansion at "/etc/passwd": absolute path not allowed ' +
          "(must be relative to Blueprint dir)",
      );
    } finally {
      await Deno.remove(outside);
    }
  });
});

Deno.test("files are bounded: size, count, and UTF-8", async () => {
  const big = "x".repeat(REF_LIMITS.fileBytes + 1);
  await withBase(
    { "big.txt": big, "a.txt": "a", "bad.txt": new Uint8Array([0xff, 0xfe]) },
    async (base) => {
      assert.match(
        await refusal(expandRefs({ x: { $file: "big.txt" } }, { base })),
        /larger than 1048576 bytes/,
      );
      const many = Array.from({ length: REF_LIMITS.files + 1 }, () => ({ $file: "a.txt" }));
      assert.match(await refusal(expandRefs({ many }, { base })), /more than 64 file references/);
      assert.match(
        await refusal(expandRefs({ x: { $file: "bad.txt" } }, { base })),
        /not UTF-8 text/,
      );
    },
  );
});

Deno.test("agent.md files need front matter with a name", async () => {
  const files = {
    "none.md": "just a prompt",
    "open.md": "---\nname: a\nno end",
    "noname.md": "---\nmodel: m\n---\nbody",
    "list.md": "---\n- a\n---\nbody",
    "tools.md": "---\nname: a\ntools: {x: 1}\n---\nbody",
    "broken.md": "---\nname: [a\n---\nbody",
    "bom.md": "\ufeff---\r\nname: b\r\n---\r\nprompt",
    "proto.md": "---\nname: p\nteam: core\n---\nbody",
  };
  await withBase(files, async (base) => {
    const refused = (path: string) =>
      refusal(expandRefs({ agents: [{ $agent_md: path }] }, { base }));
    assert.match(await refused("none.md"), /no front matter/);
    assert.match(await refused("open.md"), /not closed/);
    assert.match(await refused("noname.md"), /must contain 'name'/);
    assert.match(await refused("list.md"), /must be a YAML mapping/);
    assert.match(await refused("tools.md"), /'tools' must be text or a list/);
    assert.match(await refused("broken.md"), /front matter: /);
    const bom = await expandRefs({ agents: [{ $agent_md: "bom.md" }] }, { base }) as {
      agents: Array<{ name: string; profile: { system_prompt: string } }>;
    };
    assert.equal(bom.agents[0].name, "b"); // a byte order mark and CRLF lines are read
    assert.equal(bom.agents[0].profile.system_prompt, "prompt");
    // a `__proto__` sibling is data: it neither sets the agent's prototype nor is dropped
    const proto = await expandRefs(
      JSON.parse('{"agents":[{"$agent_md":"proto.md","__proto__":{"x":1}}]}'),
      { base },
    ) as { agents: Array<Record<string, { extras?: Record<string, unknown> }>> };
    const agent = proto.agents[0];
    assert.ok(Object.hasOwn(agent, "__proto__"));
    assert.deepEqual(Object.getPrototypeOf(agent), Object.prototype);
    assert.deepEqual(agent.profile.extras, { team: "core" });
  });
});
