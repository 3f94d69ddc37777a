//! Palisade's integration tests: one test binary (it links once), one module per feature.
//!
//! Plugins here are real components built from source: the stock plugins embedded in `palisade`, and the
//! test-only `testbed` plugin built by `tests/plugins`. The `cli` tests run the real `palisade` binary.

mod audit; // serve --audit: one JSON line per exchange on every transport, never a matched value
mod bad_input; // empty, 10 MiB, NUL, JSON nested deep or with a key twice: a decision or a clear error
mod bundle; // loading bundles: digests, manifest errors with line numbers, files, all-or-nothing
mod bypass; // every provider's bodies and streams, a value planted in each string, over every transport
mod cache; // compiled components on disk: hits, damaged entries, permissions
mod chain; // order, deny short-circuit, labels flowing, policy actions, span mapping through redactions
mod cli; // the `palisade` binary: scan in plain and JSON-lines modes, exit statuses, messages
mod detectors; // the stock detectors linked natively: positives and negatives per rule
mod evasion; // disguised values (full-width, zero-width, escapes): found, spanned exactly, redacted whole
mod examples; // the example plugins built from source, and the README that shows one
mod ext_authz; // Envoy ext_authz: OK or 403 with the rule, redactions refused, metadata for the access log
mod ext_proc; // Envoy ext_proc: the exact message sequences of BUFFERED and STREAMED modes, deny as a 403
mod fuzz_replay; // the fuzz targets' properties over their seeds, kept corpus and fixed mutations of them
mod gate; // one gate: every refusal on every transport is one audit event and one count, same code
mod hostile; // plugins that loop, bomb memory, panic or lie about spans: cut off, mapped to on_error
mod http; // serve --http: POST /v1/check in proto3 JSON, cross-checked with gRPC; errors and statuses
mod kubernetes; // deploy/kubernetes as the real binary runs it: ConfigMap swaps under load, SIGTERM drains
mod languages; // plugins in Python, JavaScript, C, Zig and Go, built by their scripts, in scan and over gRPC
mod limits; // what an abusive client meets: HTTP/2 limits announced and held
mod loadgen; // palisade bench: open and closed loop against the real server, counts and report
mod logs; // the server's log at its most verbose, both formats: never a payload or a matched value
mod ner; // the ner plugin: spaCy's tokens, features and entities exactly; builtin:ner through scan and gRPC
mod otel; // serve --otlp-endpoint: exchange and plugin spans in the caller's trace, at a test OTLP collector
mod payload; // JSON chat bodies: OpenAI and Anthropic shapes, tool calls, redactions written back in place
mod pii; // the stock pii plugin's rules, with positives and decoys
mod plugin_gates; // plugins called only for texts that open their gate; gates searched again after a change; the stock gates lose nothing
mod policy; // Cedar and Rego plugins: the agents examples, bad policy files, report mode, reference engines as oracles
mod pseudonyms; // pseudonymize on the way in, the sealed vault, restore on the way out: chain, gRPC, HTTP
mod redaction; // property: values the default policy redacts never reach the output
mod reload; // hot reload under load: watcher, SIGHUP, twenty reloads without a failed call
mod report_mode; // mode = "report": nothing changed, what would have happened in the response and the audit
mod scaffold; // `plugin new` in Rust, Python, JavaScript and C: the project builds and its plugin runs
mod secrets; // the stock secrets plugin's rules, with placeholders and hashes as decoys
mod serve; // `palisade serve` over gRPC: health, reflection, Check, Admin, deadlines, limits, shutdown
mod signing; // bundle keygen, sign, verify; serve --trusted-key at start and on reload
mod stock_policy; // classification and destinations, natively and in the default bundle
mod stream; // CheckStream's hold-back: raw text and SSE split everywhere, nothing redacted ever released
mod stream_abuse; // drips, hoarders and 256-channel streams beside ordinary calls: limits held, memory bounded
mod tls; // serve over TLS and mutual TLS: certificates made at test time, SPIFFE IDs as principals
mod util; // shared engine, bundle directories built on the fly
