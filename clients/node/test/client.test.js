// palisade-client against the real server: PALISADE names the binary (default: the repository's
// target/release/palisade). The server runs the stock bundle with secrets denied on both paths, so a
// stream can be denied too. Runs with `node --test` where the package is installed (or built, here).
"use strict";

const assert = require("node:assert/strict");
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const grpc = require("@grpc/grpc-js");

const { Palisade, Denied, palisadeV1 } = require("palisade-client");

const BINARY =
  process.env.PALISADE || path.join(__dirname, "..", "..", "..", "target", "release", "palisade");
const EMAIL = "ana.silva@example.com";
const AWS_KEY = "AKIAZ7QW3RTY5UIO2PAS";

/** An OpenAI chat completion chunk, as the SDK yields it. */
function chunk(content, finish = null) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt-4o",
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
  };
}

async function collect(iterator) {
  const out = [];
  for await (const item of iterator) out.push(item);
  return out;
}

let server;
let addr;
let dir;
let log;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "palisade-node-"));
  const bundle = path.join(dir, "bundle");
  execFileSync(BINARY, ["bundle", "export", bundle]);
  const manifest = path.join(bundle, "bundle.toml");
  const text = fs.readFileSync(manifest, "utf8");
  const secret = 'SECRET = { input = "deny", output = "redact" }';
  assert.ok(text.includes(secret), "the stock bundle's SECRET line changed");
  fs.writeFileSync(manifest, text.replace(secret, 'SECRET = "deny"'));
  server = spawn(BINARY, ["serve", "--listen", "127.0.0.1:0", "--bundle", bundle], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  log = "";
  addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`palisade did not start; its log:\n${log}`)), 30000);
    server.stderr.on("data", (data) => {
      log += data;
      const found = /listening addr=(\S+)/.exec(log);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    server.on("exit", (code) => reject(new Error(`palisade exited (${code}); its log:\n${log}`)));
  });
});

after(() => {
  server?.kill("SIGTERM");
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("Palisade", () => {
  let palisade;
  before(() => {
    palisade = new Palisade(addr);
  });
  after(() => palisade.close());

  test("a prompt with an e-mail comes back redacted, with the finding but not the value", async () => {
    const result = await palisade.check(`Please mail ${EMAIL} today`, { direction: "input" });
    assert.equal(result.decision, "modify");
    assert.equal(result.text, "Please mail [EMAIL_ADDRESS] today");
    assert.deepEqual(result.body, Buffer.from("Please mail [EMAIL_ADDRESS] today"));
    const [found] = result.findings.filter((f) => f.category === "EMAIL_ADDRESS");
    assert.deepEqual([found.plugin, found.start, found.end, found.action, found.reportOnly], ["pii", 12, 33, "redact", false]);
    assert.ok(!JSON.stringify(result.findings).includes(EMAIL));
    assert.match(result.bundle, /^default@/);
    assert.ok(result.elapsedUs > 0);
  });

  test("a clean text is allowed as it is", async () => {
    const result = await palisade.check("What is the capital of France?");
    assert.deepEqual([result.decision, result.text], ["allow", "What is the capital of France?"]);
    assert.deepEqual(result.findings, []);
  });

  test("a secret is denied with a reason that does not repeat it", async () => {
    const result = await palisade.check(`deploy with ${AWS_KEY}`);
    assert.equal(result.decision, "deny");
    assert.equal(result.text, "");
    assert.match(result.reason, /secrets/);
    assert.ok(!result.reason.includes(AWS_KEY));
  });

  test("a chat body is read by its shape and comes back rewritten", async () => {
    const body = { model: "gpt-4o", messages: [{ role: "user", content: `mail ${EMAIL}` }] };
    const result = await palisade.checkBody(body, {
      principal: "spiffe://example.org/agent",
      destination: "https://api.openai.com",
      labels: ["beta"],
      metadata: { team: "a" },
      requestId: "node-1",
    });
    assert.equal(result.decision, "modify");
    assert.equal(JSON.parse(result.text).messages[0].content, "mail [EMAIL_ADDRESS]");
    assert.equal(result.findings[0].location, "/messages/0/content");
    // Bytes go as they are: an allowed body comes back byte for byte.
    const raw = Buffer.from('{"messages":[{"role":"user","content":"hi"}]}');
    const same = await palisade.checkBody(raw);
    assert.deepEqual([same.decision, same.body], ["allow", raw]);
  });

  test("a raw stream is released redacted even when a value is split across chunks", async () => {
    const ended = { reason: "", findings: [], labels: [], bundle: "", restored: 0 };
    const released = await collect(
      palisade.checkStream(["Write to ana.sil", "va@exam", Buffer.from("ple.com soon.")], { result: ended }),
    );
    assert.equal(Buffer.concat(released).toString(), "Write to [EMAIL_ADDRESS] soon.");
    assert.equal(ended.decision, "modify");
    assert.deepEqual(ended.findings.map((f) => f.category), ["EMAIL_ADDRESS"]);
  });

  test("an OpenAI SDK stream is guarded event by event, from an async source", async () => {
    async function* events() {
      for (const c of [chunk("Reach the admin at ro"), chunk("ot@example"), chunk(".net for it."), chunk(null, "stop")]) {
        yield c;
      }
    }
    const out = await collect(palisade.guardStream(events()));
    const text = out.map((e) => e.choices[0].delta.content ?? "").join("");
    assert.equal(text, "Reach the admin at [EMAIL_ADDRESS] for it.");
    assert.ok(!JSON.stringify(out).includes("root@"));
    assert.equal(out.at(-1).choices[0].finish_reason, "stop");
  });

  test("a denied stream throws Denied and releases nothing after the secret", async () => {
    const out = [];
    await assert.rejects(
      (async () => {
        for await (const event of palisade.guardStream([chunk("Your key is "), chunk(AWS_KEY), chunk(", keep it safe.")])) {
          out.push(event);
        }
      })(),
      (error) => {
        assert.ok(error instanceof Denied);
        assert.match(error.reason, /SECRET/);
        assert.ok(!error.reason.includes(AWS_KEY));
        assert.equal(error.result.decision, "deny");
        return true;
      },
    );
    assert.ok(!JSON.stringify(out).includes(AWS_KEY));
  });

  test("a chunk source that fails ends the stream with its own error", async () => {
    async function* failing() {
      yield "some text ";
      throw new Error("the model's stream broke");
    }
    await assert.rejects(collect(palisade.checkStream(failing())), /the model's stream broke/);
  });

  test("a direction that is not one is refused before any call", async () => {
    assert.throws(() => palisade.check("x", { direction: "sideways" }), /"sideways" is not "input" or "output"/);
  });

  test("a server's refusal is a gRPC status with Palisade's message", async () => {
    await assert.rejects(palisade.checkBody("{not json"), (error) => {
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      assert.match(error.details, /JSON/);
      return true;
    });
  });

  test("an unreachable server is gRPC's UNAVAILABLE", async () => {
    const nobody = new Palisade("127.0.0.1:9", { timeoutMs: 2000 });
    try {
      await assert.rejects(nobody.check("x"), (error) => error.code === grpc.status.UNAVAILABLE);
    } finally {
      nobody.close();
    }
  });

  test("the raw services are there for what the client does not wrap", () => {
    const v1 = palisadeV1();
    assert.equal(typeof v1.Guardrail, "function");
    assert.equal(typeof v1.Admin, "function");
  });
});
