"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.Palisade = exports.PROTO_PATH = exports.Denied = void 0;
exports.palisadeV1 = palisadeV1;
/**
 * A typed client for Palisade, the guardrail service for AI traffic, over gRPC (`palisade.v1`).
 *
 * The proto ships inside the package and is loaded at run time by @grpc/proto-loader: nothing to generate,
 * no protoc.
 */
const path = __importStar(require("node:path"));
const grpc = __importStar(require("@grpc/grpc-js"));
const protoLoader = __importStar(require("@grpc/proto-loader"));
/** A stream Palisade denied: nothing after the denied text was released. `result` has the findings. */
class Denied extends Error {
    result;
    reason;
    constructor(result) {
        super(`Palisade denied the stream: ${result.reason}`);
        this.result = result;
        this.name = "Denied";
        this.reason = result.reason;
    }
}
exports.Denied = Denied;
/** The proto inside the package, for callers that want the raw services (Admin, say). */
exports.PROTO_PATH = path.join(__dirname, "..", "proto", "palisade", "v1", "guardrail.proto");
let loaded;
/** palisade.v1 as a grpc-js package object: `palisadeV1().Guardrail`, `palisadeV1().Admin`. */
function palisadeV1() {
    if (!loaded) {
        const definition = protoLoader.loadSync(exports.PROTO_PATH, {
            longs: Number,
            enums: String,
            defaults: true,
            oneofs: true,
        });
        const root = grpc.loadPackageDefinition(definition);
        loaded = root.palisade.v1;
    }
    return loaded;
}
const DIRECTIONS = { input: "DIRECTION_INPUT", output: "DIRECTION_OUTPUT" };
const DECISIONS = {
    DECISION_ALLOW: "allow",
    DECISION_MODIFY: "modify",
    DECISION_DENY: "deny",
};
function direction(d, otherwise) {
    const name = d ?? otherwise;
    const wire = DIRECTIONS[name];
    if (!wire) {
        throw new TypeError(`direction ${JSON.stringify(name)} is not "input" or "output"`);
    }
    return wire;
}
function decision(wire) {
    return DECISIONS[wire] ?? "allow";
}
/** The fields the client promises, and no more (the message also carries the plugin's `message`). */
function finding(f) {
    return {
        plugin: f.plugin,
        rule: f.rule,
        category: f.category,
        start: f.start,
        end: f.end,
        location: f.location,
        confidence: f.confidence,
        action: f.action,
        reportOnly: f.reportOnly,
    };
}
function exchange(options, otherwise) {
    return {
        direction: direction(options.direction, otherwise),
        principal: options.principal ?? "",
        destination: options.destination ?? "",
        tool: options.tool ?? "",
        labels: options.labels ?? [],
        metadata: options.metadata ?? {},
        requestId: options.requestId ?? "",
        vault: options.vault ?? "",
    };
}
function result(answer, sent) {
    const d = decision(answer.decision);
    let body = sent;
    if (d === "deny") {
        body = Buffer.alloc(0);
    }
    else if (answer.content === "text") {
        body = Buffer.from(answer.text ?? "", "utf8");
    }
    else if (answer.content === "body") {
        body = answer.body ?? Buffer.alloc(0);
    }
    return {
        decision: d,
        text: body.toString("utf8"),
        body,
        reason: answer.reason,
        findings: answer.findings.map(finding),
        labels: answer.labels,
        bundle: answer.bundle,
        elapsedUs: answer.elapsedUs,
        vault: answer.vault,
        restored: answer.restored,
        vaultError: answer.vaultError,
    };
}
function bodyBytes(body) {
    if (typeof body === "string")
        return Buffer.from(body, "utf8");
    if (body instanceof Uint8Array)
        return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return Buffer.from(JSON.stringify(body), "utf8");
}
/** One SDK stream event (an OpenAI chunk, an Anthropic event) as a server-sent event. */
function sse(event) {
    const kind = event?.type;
    const head = typeof kind === "string" ? `event: ${kind}\n` : "";
    return Buffer.from(`${head}data: ${JSON.stringify(event)}\n\n`, "utf8");
}
/** Released SSE bytes back into events, whatever the chunk boundaries. */
class SseEvents {
    pending = Buffer.alloc(0);
    feed(data) {
        this.pending = Buffer.concat([this.pending, data]);
        const events = [];
        for (let end = this.pending.indexOf("\n\n"); end >= 0; end = this.pending.indexOf("\n\n")) {
            const raw = this.pending.subarray(0, end).toString("utf8");
            this.pending = this.pending.subarray(end + 2);
            const lines = raw
                .split("\n")
                .filter((line) => line.startsWith("data: "))
                .map((line) => line.slice("data: ".length));
            if (lines.length > 0)
                events.push(JSON.parse(lines.join("\n")));
        }
        return events;
    }
}
async function* each(items) {
    for await (const item of items)
        yield item;
}
/**
 * A client for one Palisade server. `target` is its gRPC address (`host:port`). Every method returns a
 * promise or an async iterator; errors from the server are grpc-js `ServiceError`s with Palisade's status
 * code and a message that says what to do.
 */
class Palisade {
    timeoutMs;
    client;
    constructor(target = "127.0.0.1:50051", options = {}) {
        const Guardrail = palisadeV1().Guardrail;
        this.client = new Guardrail(target, options.credentials ?? grpc.credentials.createInsecure());
        this.timeoutMs = options.timeoutMs ?? 5000;
    }
    close() {
        this.client.close();
    }
    deadline() {
        return { deadline: Date.now() + this.timeoutMs };
    }
    call(request, sent) {
        return new Promise((resolve, reject) => {
            this.client.Check(request, this.deadline(), (error, answer) => {
                if (error || !answer)
                    reject(error ?? new Error("Palisade answered nothing"));
                else
                    resolve(result(answer, sent));
            });
        });
    }
    /** Checks one text: a prompt, a tool call's arguments, a tool's result, an answer. */
    check(text, options = {}) {
        const request = { ...exchange(options, "input"), text, contentType: "text/plain" };
        return this.call(request, Buffer.from(text, "utf8"));
    }
    /** Checks a body as a gateway holds it: a chat request or answer (an object is sent as JSON), or any
     * JSON, every string of which is read. */
    checkBody(body, options = {}) {
        const data = bodyBytes(body);
        const request = {
            ...exchange(options, "input"),
            body: data,
            contentType: options.contentType ?? "application/json",
        };
        return this.call(request, data);
    }
    /**
     * Yields what may be passed on of a streamed answer as it arrives (redacted, held back until no finding
     * can span it). Throws `Denied` when Palisade denies the stream; what it held back is never released.
     * Pass `result` to read the decision and findings once the stream has ended.
     */
    async *checkStream(chunks, options = {}) {
        const ended = options.result ?? { reason: "", findings: [], labels: [], bundle: "", restored: 0 };
        const call = this.client.CheckStream(this.deadline());
        // Sending runs beside receiving: answers come while chunks are still being sent.
        const sending = (async () => {
            call.write({ ...exchange(options, "output"), contentType: options.contentType ?? "text/plain" });
            for await (const chunk of each(chunks)) {
                const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
                if (!call.write({ chunk: bytes })) {
                    await new Promise((resolve) => call.once("drain", resolve));
                }
            }
            call.end();
        })();
        // A failed send (a chunk source that throws) cancels the call, which ends the loop below with it.
        let sendError;
        sending.catch((error) => {
            sendError = error;
            call.cancel();
        });
        try {
            for await (const answer of call) {
                if (answer.chunk.length > 0)
                    yield answer.chunk;
                if (answer.done) {
                    ended.decision = decision(answer.decision);
                    ended.reason = answer.reason;
                    ended.findings = answer.findings.map(finding);
                    ended.labels = answer.labels;
                    ended.bundle = answer.bundle;
                    ended.restored = answer.restored;
                    if (ended.decision === "deny")
                        throw new Denied(ended);
                }
            }
        }
        catch (error) {
            throw sendError ?? error;
        }
        finally {
            call.cancel();
        }
        if (sendError)
            throw sendError;
    }
    /**
     * An OpenAI or Anthropic SDK stream (`openai.chat.completions.create({..., stream: true})`,
     * `anthropic.messages.create({..., stream: true})`) checked by Palisade: yields its events, their text
     * redacted and released only once checked. Throws `Denied` when Palisade denies the answer.
     */
    async *guardStream(events, options = {}) {
        const parser = new SseEvents();
        async function* chunks() {
            for await (const event of each(events))
                yield sse(event);
        }
        for await (const released of this.checkStream(chunks(), {
            ...options,
            contentType: "text/event-stream",
        })) {
            yield* parser.feed(released);
        }
    }
}
exports.Palisade = Palisade;
