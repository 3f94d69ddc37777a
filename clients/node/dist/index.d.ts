import * as grpc from "@grpc/grpc-js";
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
export declare class Denied extends Error {
    readonly result: StreamResult;
    readonly reason: string;
    constructor(result: StreamResult);
}
/** The proto inside the package, for callers that want the raw services (Admin, say). */
export declare const PROTO_PATH: string;
/** palisade.v1 as a grpc-js package object: `palisadeV1().Guardrail`, `palisadeV1().Admin`. */
export declare function palisadeV1(): grpc.GrpcObject;
/**
 * A client for one Palisade server. `target` is its gRPC address (`host:port`). Every method returns a
 * promise or an async iterator; errors from the server are grpc-js `ServiceError`s with Palisade's status
 * code and a message that says what to do.
 */
export declare class Palisade {
    readonly timeoutMs: number;
    private readonly client;
    constructor(target?: string, options?: ClientOptions);
    close(): void;
    private deadline;
    private call;
    /** Checks one text: a prompt, a tool call's arguments, a tool's result, an answer. */
    check(text: string, options?: CheckOptions): Promise<Result>;
    /** Checks a body as a gateway holds it: a chat request or answer (an object is sent as JSON), or any
     * JSON, every string of which is read. */
    checkBody(body: Uint8Array | string | object, options?: BodyOptions): Promise<Result>;
    /**
     * Yields what may be passed on of a streamed answer as it arrives (redacted, held back until no finding
     * can span it). Throws `Denied` when Palisade denies the stream; what it held back is never released.
     * Pass `result` to read the decision and findings once the stream has ended.
     */
    checkStream(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, options?: StreamOptions): AsyncGenerator<Buffer>;
    /**
     * An OpenAI or Anthropic SDK stream (`openai.chat.completions.create({..., stream: true})`,
     * `anthropic.messages.create({..., stream: true})`) checked by Palisade: yields its events, their text
     * redacted and released only once checked. Throws `Denied` when Palisade denies the answer.
     */
    guardStream(events: AsyncIterable<unknown> | Iterable<unknown>, options?: CheckOptions & {
        result?: StreamResult;
    }): AsyncGenerator<unknown>;
}
