/**
 * A typed client for Palisade, the guardrail service for AI traffic, over gRPC (`palisade.v1`).
 *
 * The proto ships inside the package and is loaded at run time by @grpc/proto-loader: nothing to generate,
 * no protoc.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export type Direction = "input" | "output";
export type Decision = "allow" | "modify" | "deny";

/** What a plugin found. Never the value: a span into the text, and what the policy did about it. */
export interface Finding {
  plugin: string;
  rule: string;
  category: string;
  /** UTF-8 byte offsets into the text at `location` of the request. */
  start: number;
  end: number;
  /** JSON pointer of the text in a structured body; "" for plain text. */
  location: string;
  confidence: number;
  /** What the policy did: redact, mask, hash, pseudonymize, deny, report. */
  action: string;
  /** The plugin is in report mode: `action` was not applied. */
  reportOnly: boolean;
}

/** Palisade's answer to one check. */
export interface Result {
  decision: Decision;
  /** What to pass on (redacted when modified; empty when denied). */
  text: string;
  /** The same as bytes, as a gateway holds a body. */
  body: Buffer;
  /** On deny: which plugin, which rule, why — never the value. */
  reason: string;
  findings: Finding[];
  labels: string[];
  /** name@version of the bundle that decided. */
  bundle: string;
  elapsedUs: number;
  /** Set when the policy pseudonymized a value: pass it back on the answer's check to restore them. */
  vault: string;
  /** Stand-ins of the request's vault restored to their values. */
  restored: number;
  /** Why the request's vault restored nothing. */
  vaultError: string;
}

/** How a stream ended; filled in when its last answer arrives. */
export interface StreamResult {
  decision?: Decision;
  reason: string;
  findings: Finding[];
  labels: string[];
  bundle: string;
  restored: number;
}

/** The exchange a text belongs to: who sends it, where it goes, what it is. All optional. */
export interface CheckOptions {
  direction?: Direction;
  /** The caller's verified identity, e.g. spiffe://example.org/ns/team-a/sa/agent. */
  principal?: string;
  /** URL, host or model name the text goes to or came from. */
  destination?: string;
  /** Tool name, when the text is a tool call or a tool's result. */
  tool?: string;
  labels?: string[];
  metadata?: Record<string, string>;
  requestId?: string;
  /** The `vault` of an earlier answer in this conversation. */
  vault?: string;
}

export interface BodyOptions extends CheckOptions {
  /** "application/json" (default): OpenAI, Anthropic, Gemini, Bedrock, Ollama bodies by shape, any other
   * JSON string by string; also multipart/form-data, x-www-form-urlencoded, text/plain. */
  contentType?: string;
}

export interface StreamOptions extends BodyOptions {
  /** Filled in with the decision and findings once the stream ends. */
  result?: StreamResult;
}

export interface ClientOptions {
  /** grpc.credentials.createSsl(...) for TLS or mutual TLS; plaintext when absent. */
  credentials?: grpc.ChannelCredentials;
  /** Bounds each call, sent as its deadline, which Palisade honours. Default 5000. */
  timeoutMs?: number;
}

/** A stream Palisade denied: nothing after the denied text was released. `result` has the findings. */
export class Denied extends Error {
  readonly reason: string;
  constructor(readonly result: StreamResult) {
    super(`Palisade denied the stream: ${result.reason}`);
    this.name = "Denied";
    this.reason = result.reason;
  }
}

/** The raw messages as @grpc/proto-loader gives them (camelCase fields, enums as names, oneofs named). */
interface RawCheckResponse {
  decision: string;
  content?: "text" | "body";
  text?: string;
  body?: Buffer;
  reason: string;
  findings: Finding[];
  labels: string[];
  bundle: string;
  elapsedUs: number;
  vault: string;
  restored: number;
  vaultError: string;
}

interface RawStreamResponse {
  chunk: Buffer;
  done: boolean;
  decision: string;
  reason: string;
  findings: Finding[];
  labels: string[];
  bundle: string;
  restored: number;
}

type Unary = (
  request: object,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: RawCheckResponse) => void,
) => grpc.ClientUnaryCall;

interface GuardrailClient extends grpc.Client {
  Check: Unary;
  CheckStream(options: grpc.CallOptions): grpc.ClientDuplexStream<object, RawStreamResponse>;
}

type GuardrailConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => GuardrailClient;

/** The proto inside the package, for callers that want the raw services (Admin, say). */
export const PROTO_PATH = path.join(__dirname, "..", "proto", "palisade", "v1", "guardrail.proto");

let loaded: grpc.GrpcObject | undefined;

/** palisade.v1 as a grpc-js package object: `palisadeV1().Guardrail`, `palisadeV1().Admin`. */
export function palisadeV1(): grpc.GrpcObject {
  if (!loaded) {
    const definition = protoLoader.loadSync(PROTO_PATH, {
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const root = grpc.loadPackageDefinition(definition);
    loaded = (root.palisade as grpc.GrpcObject).v1 as grpc.GrpcObject;
  }
  return loaded;
}

const DIRECTIONS: Record<Direction, string> = { input: "DIRECTION_INPUT", output: "DIRECTION_OUTPUT" };
const DECISIONS: Record<string, Decision> = {
  DECISION_ALLOW: "allow",
  DECISION_MODIFY: "modify",
  DECISION_DENY: "deny",
};

function direction(d: string | undefined, otherwise: Direction): string {
  const name = d ?? otherwise;
  const wire = DIRECTIONS[name as Direction];
  if (!wire) {
    throw new TypeError(`direction ${JSON.stringify(name)} is not "input" or "output"`);
  }
  return wire;
}

function decision(wire: string): Decision {
  return DECISIONS[wire] ?? "allow";
}

/** The fields the client promises, and no more (the message also carries the plugin's `message`). */
function finding(f: Finding): Finding {
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

function exchange(options: CheckOptions, otherwise: Direction): object {
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

function result(answer: RawCheckResponse, sent: Buffer): Result {
  const d = decision(answer.decision);
  let body = sent;
  if (d === "deny") {
    body = Buffer.alloc(0);
  } else if (answer.content === "text") {
    body = Buffer.from(answer.text ?? "", "utf8");
  } else if (answer.content === "body") {
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

function bodyBytes(body: Uint8Array | string | object): Buffer {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.from(JSON.stringify(body), "utf8");
}

/** One SDK stream event (an OpenAI chunk, an Anthropic event) as a server-sent event. */
function sse(event: unknown): Buffer {
  const kind = (event as { type?: unknown } | null)?.type;
  const head = typeof kind === "string" ? `event: ${kind}\n` : "";
  return Buffer.from(`${head}data: ${JSON.stringify(event)}\n\n`, "utf8");
}

/** Released SSE bytes back into events, whatever the chunk boundaries. */
class SseEvents {
  private pending = Buffer.alloc(0);

  feed(data: Buffer): unknown[] {
    this.pending = Buffer.concat([this.pending, data]);
    const events: unknown[] = [];
    for (let end = this.pending.indexOf("\n\n"); end >= 0; end = this.pending.indexOf("\n\n")) {
      const raw = this.pending.subarray(0, end).toString("utf8");
      this.pending = this.pending.subarray(end + 2);
      const lines = raw
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice("data: ".length));
      if (lines.length > 0) events.push(JSON.parse(lines.join("\n")));
    }
    return events;
  }
}

async function* each<T>(items: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  for await (const item of items) yield item;
}

/**
 * A client for one Palisade server. `target` is its gRPC address (`host:port`). Every method returns a
 * promise or an async iterator; errors from the server are grpc-js `ServiceError`s with Palisade's status
 * code and a message that says what to do.
 */
export class Palisade {
  readonly timeoutMs: number;
  private readonly client: GuardrailClient;

  constructor(target = "127.0.0.1:50051", options: ClientOptions = {}) {
    const Guardrail = palisadeV1().Guardrail as unknown as GuardrailConstructor;
    this.client = new Guardrail(target, options.credentials ?? grpc.credentials.createInsecure());
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  close(): void {
    this.client.close();
  }

  private deadline(): grpc.CallOptions {
    return { deadline: Date.now() + this.timeoutMs };
  }

  private call(request: object, sent: Buffer): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.client.Check(request, this.deadline(), (error, answer) => {
        if (error || !answer) reject(error ?? new Error("Palisade answered nothing"));
        else resolve(result(answer, sent));
      });
    });
  }

  /** Checks one text: a prompt, a tool call's arguments, a tool's result, an answer. */
  check(text: string, options: CheckOptions = {}): Promise<Result> {
    const request = { ...exchange(options, "input"), text, contentType: "text/plain" };
    return this.call(request, Buffer.from(text, "utf8"));
  }

  /** Checks a body as a gateway holds it: a chat request or answer (an object is sent as JSON), or any
   * JSON, every string of which is read. */
  checkBody(body: Uint8Array | string | object, options: BodyOptions = {}): Promise<Result> {
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
  async *checkStream(
    chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
    options: StreamOptions = {},
  ): AsyncGenerator<Buffer> {
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
    let sendError: unknown;
    sending.catch((error: unknown) => {
      sendError = error;
      call.cancel();
    });
    try {
      for await (const answer of call as AsyncIterable<RawStreamResponse>) {
        if (answer.chunk.length > 0) yield answer.chunk;
        if (answer.done) {
          ended.decision = decision(answer.decision);
          ended.reason = answer.reason;
          ended.findings = answer.findings.map(finding);
          ended.labels = answer.labels;
          ended.bundle = answer.bundle;
          ended.restored = answer.restored;
          if (ended.decision === "deny") throw new Denied(ended);
        }
      }
    } catch (error) {
      throw sendError ?? error;
    } finally {
      call.cancel();
    }
    if (sendError) throw sendError;
  }

  /**
   * An OpenAI or Anthropic SDK stream (`openai.chat.completions.create({..., stream: true})`,
   * `anthropic.messages.create({..., stream: true})`) checked by Palisade: yields its events, their text
   * redacted and released only once checked. Throws `Denied` when Palisade denies the answer.
   */
  async *guardStream(
    events: AsyncIterable<unknown> | Iterable<unknown>,
    options: CheckOptions & { result?: StreamResult } = {},
  ): AsyncGenerator<unknown> {
    const parser = new SseEvents();
    async function* chunks(): AsyncGenerator<Buffer> {
      for await (const event of each(events)) yield sse(event);
    }
    for await (const released of this.checkStream(chunks(), {
      ...options,
      contentType: "text/event-stream",
    })) {
      yield* parser.feed(released);
    }
  }
}
