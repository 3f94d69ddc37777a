//! The Wasm side of the host: one wasmtime engine for the process, plugins compiled and type-checked
//! against the `guardrail` world, and configured instances kept for reuse.
//!
//! What a plugin gets: a WASI with nothing granted (no preopened directories, no environment, no sockets;
//! stdout and stderr go to the log, bounded), clocks and randomness, and the `host.log` import. What it is
//! held to: a wall-time budget per call, enforced by epoch interruption (and by timers cut off at the
//! deadline, `clocks`), and a cap on each linear memory,
//! enforced by a [`wasmtime::ResourceLimiter`]. An instance that trapped, ran out of time or hit its memory
//! cap is dropped, never reused.
//!
//! Limits, honestly stated: the budget is checked at epoch ticks, so a call may overrun it by up to one tick
//! plus scheduling delay; the memory cap applies to each linear memory the plugin grows, not to host memory
//! spent on its behalf (the strings it returns are bounded by its own memory).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, ComponentExportIndex, HasSelf, Linker, ResourceTable};

use crate::cache::ComponentCache;
use wasmtime::{Config, PoolingAllocationConfig, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::error::PluginError;

#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        world: "guardrail",
        path: "../wit",
    });
}

mod clocks;
mod output;

use bindings::palisade::guardrail::host::Level;
pub use bindings::palisade::guardrail::types::{
    Context, Decision, Direction, Finding, Gate, Span, Verdict,
};
use bindings::{Guardrail, GuardrailPre};

/// How often the epoch advances. Budgets are rounded up to whole ticks, and a call is cut off within one
/// tick of its deadline: 1 ms keeps a 2 ms budget meaningful while the ticker thread stays cheap.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The largest `memory` a bundle may give a plugin. The pooling allocator reserves address space (not
/// memory) for this much per linear memory slot.
pub const MAX_PLUGIN_MEMORY: usize = 1 << 30;

/// Component instances the pooling allocator can hold at once, across all plugins of all loaded bundles
/// (a reload briefly holds two). Each idle or busy instance takes one slot; see [`MAX_IDLE_PER_PLUGIN`].
const POOLED_COMPONENT_INSTANCES: u32 = 1000;

/// A Rust, C or Python component holds a few core instances (the program, the WASI adapter, shims),
/// usually one or two memories and a few tables; these multiples leave room for that.
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 8;

/// Configured instances kept per plugin for reuse. More than the cores that can run calls at once buys
/// nothing; the rest of the pool stays free for other plugins and for a reload.
pub const MAX_IDLE_PER_PLUGIN: usize = 16;

/// `configure` may compile regexes or parse a policy, which takes far longer than an `inspect`; this is its
/// budget, whatever the plugin's per-call budget is.
pub const CONFIGURE_BUDGET: Duration = Duration::from_secs(5);

/// Log lines a plugin may write per call (through `host.log`, stdout or stderr) and the length each is
/// cut to, so a chatty or hostile plugin cannot flood the operator's log.
const LOG_LINES_PER_CALL: usize = 32;
const LOG_LINE_MAX: usize = 512;

/// Findings one verdict may carry; more is treated as a broken plugin, not as data.
pub const MAX_FINDINGS_PER_VERDICT: usize = 10_000;

/// The process-wide wasmtime engine, its linker, and the thread that advances the epoch.
pub struct Engine {
    wasmtime: wasmtime::Engine,
    linker: Linker<HostState>,
    cache: Option<ComponentCache>,
    ticker: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Engine {
    /// Builds the engine: component model, epoch interruption, the pooling allocator, WASI p2 and `host`.
    /// Every component is compiled afresh; see [`Engine::with_cache`].
    pub fn new() -> crate::Result<Engine> {
        Engine::with_cache(None)
    }

    /// [`Engine::new`], keeping compiled components in `cache` so a restart or a reload of an unchanged
    /// plugin does not compile it again.
    pub fn with_cache(cache: Option<ComponentCache>) -> crate::Result<Engine> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOLED_COMPONENT_INSTANCES)
            .total_core_instances(POOLED_COMPONENT_INSTANCES * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(POOLED_COMPONENT_INSTANCES * MEMORIES_PER_COMPONENT)
            .total_tables(POOLED_COMPONENT_INSTANCES * TABLES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT * 4)
            .max_tables_per_component(TABLES_PER_COMPONENT * 4)
            .max_memory_size(MAX_PLUGIN_MEMORY);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(pool);
        // For people profiling a plugin with `perf` (docs/plugins.md): names for the compiled functions.
        if std::env::var_os("PALISADE_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let wasmtime =
            wasmtime::Engine::new(&config).map_err(|e| crate::Error::Engine(format!("{e:#}")))?;

        let mut linker = Linker::new(&wasmtime);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| crate::Error::Engine(format!("{e:#}")))?;
        Guardrail::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| crate::Error::Engine(format!("{e:#}")))?;
        clocks::shadow(&mut linker).map_err(|e| crate::Error::Engine(format!("{e:#}")))?;

        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = wasmtime.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("palisade-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| {
                    crate::Error::Engine(format!("cannot start the epoch ticker thread: {e}"))
                })?
        };
        Ok(Engine {
            wasmtime,
            linker,
            cache,
            ticker: Some(ticker),
            stop,
        })
    }

    /// Compiles a component (or takes it from the cache, by `wasm_sha256`) and checks that it exports the
    /// `guardrail` world this host speaks.
    pub fn compile(&self, wasm: &[u8], wasm_sha256: &str) -> Result<CompiledPlugin, String> {
        let component = match &self.cache {
            Some(cache) => cache.load_or_compile(&self.wasmtime, wasm, wasm_sha256),
            None => Component::new(&self.wasmtime, wasm),
        }
        .map_err(|e| format!("not a valid component: {e:#}"))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(GuardrailPre::new)
            .map_err(|e| format!("does not fit the palisade:guardrail@0.1.1 world: {e:#}"))?;
        // Of the `gated-guardrail` world; its type is checked when the first instance calls it.
        let gate = component.get_export_index(None, "gate");
        Ok(CompiledPlugin { pre, gate })
    }
}

impl Engine {
    /// The component cache, if this engine has one.
    pub fn cache(&self) -> Option<&ComponentCache> {
        self.cache.as_ref()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// A component, type-checked and ready to instantiate.
pub struct CompiledPlugin {
    pre: GuardrailPre<HostState>,
    /// The `gate` export, for a component of the `gated-guardrail` world.
    gate: Option<ComponentExportIndex>,
}

/// Limits one plugin runs under.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall time per `inspect` call.
    pub budget: Duration,
    /// Cap on each linear memory, in bytes.
    pub memory: usize,
}

/// A plugin ready to be called: its compiled component, its configuration, and idle configured instances.
pub struct PluginRuntime {
    name: Arc<str>,
    compiled: CompiledPlugin,
    config_json: String,
    limits: Limits,
    /// What its configured instances declared a text must hold; `None`: every text.
    gate: Option<Gate>,
    idle: Mutex<Vec<Instance>>,
}

struct Instance {
    store: Store<HostState>,
    guardrail: Guardrail,
    raw: wasmtime::component::Instance,
}

impl PluginRuntime {
    /// Instantiates the plugin once and calls `configure`, so a bad config fails the bundle load, and
    /// keeps that instance for the first call.
    pub fn new(
        name: &str,
        compiled: CompiledPlugin,
        config_json: String,
        limits: Limits,
    ) -> Result<Self, PluginError> {
        let mut runtime = PluginRuntime {
            name: name.into(),
            compiled,
            config_json,
            limits,
            gate: None,
            idle: Mutex::new(Vec::new()),
        };
        let mut first = runtime.instantiate()?;
        if let Some(export) = runtime.compiled.gate {
            runtime.gate = first.gate(export)?;
        }
        runtime.release(first);
        Ok(runtime)
    }

    /// The plugin's name in the bundle.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What a text must hold for this plugin to find anything, as its `gate` export declared after
    /// `configure`; `None` when it declared none (or exports no `gate`): it is called for every text.
    pub fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }

    /// Calls `inspect` under the plugin's limits; `budget` may be shortened by the caller's deadline.
    ///
    /// On any failure the instance that failed is dropped, so the next call gets a fresh one.
    pub fn inspect(
        &self,
        ctx: &Context,
        text: &str,
        budget: Duration,
    ) -> Result<Verdict, PluginError> {
        let mut instance = match self.take_idle() {
            Some(instance) => instance,
            None => self.instantiate()?,
        };
        instance.store.data_mut().begin_call(budget);
        instance.store.set_epoch_deadline(ticks(budget));
        let result = instance
            .guardrail
            .call_inspect(&mut instance.store, ctx, text);
        instance.store.data_mut().end_call();
        match result {
            Ok(_) if instance.store.data().slept_past_deadline => {
                Err(PluginError::Timeout { budget })
            }
            Ok(verdict) => {
                self.release(instance);
                Ok(verdict)
            }
            Err(e) => Err(classify(e, instance.store.data(), budget)),
        }
    }

    fn instantiate(&self) -> Result<Instance, PluginError> {
        let mut attempt = 0;
        let (mut store, (guardrail, raw)) = loop {
            let state = HostState::new(self.name.clone(), self.limits.memory);
            let mut store = Store::new(self.compiled.pre.engine(), state);
            store.limiter(|state| &mut state.memory);
            store.set_epoch_deadline(ticks(CONFIGURE_BUDGET));
            let instantiated = self
                .compiled
                .pre
                .instance_pre()
                .instantiate(&mut store)
                .and_then(|raw| Ok((Guardrail::new(&mut store, &raw)?, raw)));
            match instantiated {
                Ok(instance) => break (store, instance),
                Err(e) if attempt < INSTANTIATE_RETRIES && is_transient(&e) => {
                    attempt += 1;
                    tracing::warn!(plugin = %self.name, attempt, error = %format!("{e:#}"), "instantiating again after a transient failure");
                    std::thread::sleep(Duration::from_millis(10 << attempt));
                }
                Err(e) => return Err(PluginError::Instantiate(format!("{e:#}"))),
            }
        };
        store.data_mut().begin_call(CONFIGURE_BUDGET);
        let configured = guardrail.call_configure(&mut store, &self.config_json);
        store.data_mut().end_call();
        if configured.is_ok() && store.data().slept_past_deadline {
            return Err(PluginError::ConfigureTrap(Box::new(PluginError::Timeout {
                budget: CONFIGURE_BUDGET,
            })));
        }
        match configured {
            Ok(Ok(())) => Ok(Instance {
                store,
                guardrail,
                raw,
            }),
            Ok(Err(message)) => Err(PluginError::Configure(message)),
            Err(e) => Err(PluginError::ConfigureTrap(Box::new(classify(
                e,
                store.data(),
                CONFIGURE_BUDGET,
            )))),
        }
    }

    fn take_idle(&self) -> Option<Instance> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn release(&self, instance: Instance) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_PER_PLUGIN {
            idle.push(instance);
        }
    }

    /// Drops every idle instance; the next call instantiates afresh. For benchmarks and tests that compare
    /// instance reuse against a fresh instance per call.
    pub fn clear_idle(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Instance {
    /// Calls the `gate` export of a configured instance, under the configure budget.
    fn gate(&mut self, export: ComponentExportIndex) -> Result<Option<Gate>, PluginError> {
        let func = self
            .raw
            .get_typed_func::<(), (Option<Gate>,)>(&mut self.store, &export)
            .map_err(|e| {
                PluginError::Gate(format!(
                    "its `gate` export is not `func() -> option<gate>` of the gated-guardrail world: {e:#}"
                ))
            })?;
        self.store.data_mut().begin_call(CONFIGURE_BUDGET);
        self.store.set_epoch_deadline(ticks(CONFIGURE_BUDGET));
        let result = func.call(&mut self.store, ()).map(|(gate,)| gate);
        self.store.data_mut().end_call();
        match result {
            Ok(_) if self.store.data().slept_past_deadline => Err(PluginError::Gate(
                PluginError::Timeout {
                    budget: CONFIGURE_BUDGET,
                }
                .to_string(),
            )),
            Ok(gate) => gate.map(check_gate).transpose(),
            Err(e) => Err(PluginError::Gate(
                classify(e, self.store.data(), CONFIGURE_BUDGET).to_string(),
            )),
        }
    }
}

/// Words a gate may declare: more is a plugin that should not have a gate.
pub const MAX_GATE_WORDS: usize = 10_000;

/// A gate the host can search for: bounded, its bytes ASCII, no word empty (an empty word would open it
/// for every text; a gate that does is declared as none).
fn check_gate(gate: Gate) -> Result<Gate, PluginError> {
    let words = gate.words.len() + gate.exact_words.len();
    if words > MAX_GATE_WORDS {
        return Err(PluginError::Gate(format!(
            "{words} words, more than the limit of {MAX_GATE_WORDS}"
        )));
    }
    if gate
        .words
        .iter()
        .chain(&gate.exact_words)
        .any(String::is_empty)
    {
        return Err(PluginError::Gate(
            "an empty word (a gate that opens for every text is declared as `none`)".into(),
        ));
    }
    if !gate.bytes.is_ascii() {
        return Err(PluginError::Gate(format!(
            "bytes {:?} holds a character outside ASCII (those open the gate through `non-ascii`)",
            gate.bytes
        )));
    }
    Ok(gate)
}

/// Epoch ticks for a budget: rounded up, plus one because the current tick is already partly spent.
fn ticks(budget: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    u64::try_from(budget.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX / 2) + 1
}

/// How often instantiating is tried again after a transient failure (waiting 20, 40, 80 ms).
const INSTANTIATE_RETRIES: u32 = 3;

/// Whether instantiating failed for a moment rather than for good: wasmtime makes a module's memory image
/// on its first instance, as a sealed memfd, and the kernel refuses the seal (EBUSY) while it is moving
/// the memfd's pages under memory pressure. The image is made again on the next try. Anything else — a
/// full pool, a trap in the start function — is not retried.
fn is_transient(error: &wasmtime::Error) -> bool {
    #[cfg(target_os = "linux")]
    {
        error.downcast_ref::<memfd::Error>().is_some()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = error;
        false
    }
}

fn classify(error: wasmtime::Error, state: &HostState, budget: Duration) -> PluginError {
    if state.memory.hit {
        return PluginError::MemoryLimit {
            limit: state.memory.max,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout { budget },
        // A panic or abort in the guest ends in `unreachable`; its message went to stderr, hence the log.
        Some(Trap::UnreachableCodeReached) => PluginError::Trap(
            "panicked or aborted (its stderr, in the log, usually says why)".into(),
        ),
        Some(trap) => PluginError::Trap(trap.to_string()),
        // Not a trap: a host-side error (e.g. a bad string from the guest); its root cause is the message.
        None => PluginError::Trap(error.root_cause().to_string()),
    }
}

/// Per-store host state: WASI, the memory limiter, and the log budget shared with stdout/stderr.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryCap,
    plugin: Arc<str>,
    log_budget: Arc<AtomicUsize>,
    logs_dropped: Arc<AtomicUsize>,
    /// When the call in progress must end: no timer the guest sets outlasts it.
    deadline: Option<std::time::Instant>,
    /// The guest asked for a timer past `deadline` (cut short): the call has timed out.
    slept_past_deadline: bool,
}

impl HostState {
    fn new(plugin: Arc<str>, memory: usize) -> HostState {
        let log_budget = Arc::new(AtomicUsize::new(LOG_LINES_PER_CALL));
        let logs_dropped = Arc::new(AtomicUsize::new(0));
        let sink = |stream| {
            output::LogSink::new(
                plugin.clone(),
                stream,
                log_budget.clone(),
                logs_dropped.clone(),
            )
        };
        // Nothing granted: no args, env, preopens or network; stdio goes to the bounded log.
        let wasi = WasiCtxBuilder::new()
            .monotonic_clock(clocks::Clock)
            .stdout(sink("stdout"))
            .stderr(sink("stderr"))
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap {
                max: memory,
                hit: false,
            },
            plugin,
            log_budget,
            logs_dropped,
            deadline: None,
            slept_past_deadline: false,
        }
    }

    fn begin_call(&mut self, budget: Duration) {
        self.deadline = std::time::Instant::now().checked_add(budget);
        self.slept_past_deadline = false;
        self.memory.hit = false;
        self.log_budget.store(LOG_LINES_PER_CALL, Ordering::Relaxed);
        self.logs_dropped.store(0, Ordering::Relaxed);
    }

    fn end_call(&mut self) {
        self.deadline = None;
        let dropped = self.logs_dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(plugin = %self.plugin, dropped, "plugin log lines over the per-call limit were dropped");
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::palisade::guardrail::types::Host for HostState {}

impl bindings::palisade::guardrail::host::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        if !output::take_line(&self.log_budget, &self.logs_dropped) {
            return;
        }
        let message = output::truncate(&message, LOG_LINE_MAX);
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

/// Caps each linear memory of one store, and remembers whether the cap was hit so that the trap that
/// usually follows (an allocator aborting) is reported as what it is.
struct MemoryCap {
    max: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million entries is far past any real plugin.
        Ok(desired <= 1_000_000)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::is_transient;

    #[test]
    fn a_memfd_the_kernel_would_not_seal_is_transient_and_nothing_else_is() {
        let busy = || {
            wasmtime::Error::from(memfd::Error::AddSeals(std::io::Error::from_raw_os_error(
                16,
            )))
        };
        assert!(is_transient(&busy()));
        // However wasmtime wraps it on the way out.
        assert!(is_transient(
            &busy().context("making the module's memory image")
        ));
        assert!(!is_transient(&wasmtime::Error::msg(
            "the instance pool is exhausted"
        )));
        assert!(!is_transient(&wasmtime::Error::from(
            wasmtime::Trap::UnreachableCodeReached
        )));
    }
}
