//! The guest's monotonic clock, with every wait it can ask for cut off at its call's deadline.
//!
//! Epoch interruption stops a plugin's own code, not host code it is blocked in: a guest that sleeps
//! (`std::thread::sleep`, a `poll` on a timer) would hold its worker for as long as it asked, whatever its
//! budget. Here `subscribe-duration` and `subscribe-instant` shadow WASI's own, so a timer never outlasts
//! the call: it fires at the deadline instead, and the call, whatever it returns then, is a timeout like any
//! other (the guest asked to wait past its budget).

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p2::{subscribe, DynPollable, Pollable};
use wasmtime_wasi::HostMonotonicClock;

use super::HostState;

/// The interface shadowed; the linker matches guests' older 0.2 imports to it.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// What the guest's clock counts from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Nanoseconds since [`EPOCH`], the guest's monotonic time.
fn now() -> u64 {
    u64::try_from(EPOCH.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The guest's monotonic clock (see [`now`]), so `subscribe-instant` can read the same time the guest does.
pub(super) struct Clock;

impl HostMonotonicClock for Clock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        now()
    }
}

/// A timer that fires at the earlier of what the guest asked for and its call's deadline.
struct CappedSleep(tokio::time::Instant);

#[wasmtime_wasi::async_trait]
impl Pollable for CappedSleep {
    async fn ready(&mut self) {
        tokio::time::sleep_until(self.0).await;
    }
}

/// Defines the capped `subscribe-duration` and `subscribe-instant` over WASI's own.
pub(super) fn shadow(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |store: StoreContextMut<'_, HostState>, (nanos,): (u64,)| {
            Ok((capped(store, Duration::from_nanos(nanos))?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |store: StoreContextMut<'_, HostState>, (when,): (u64,)| {
            Ok((capped(
                store,
                Duration::from_nanos(when.saturating_sub(now())),
            )?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn capped(
    mut store: StoreContextMut<'_, HostState>,
    wait: Duration,
) -> wasmtime::Result<Resource<DynPollable>> {
    let state = store.data_mut();
    let asked = Instant::now().checked_add(wait);
    let until = match (asked, state.deadline) {
        (Some(asked), Some(deadline)) if asked <= deadline => asked,
        (_, Some(deadline)) => {
            state.slept_past_deadline = true;
            deadline
        }
        (Some(asked), None) => asked,
        // Past any representable time, and no call to cut it short: a day is as long as never here.
        (None, None) => Instant::now() + Duration::from_secs(86_400),
    };
    let sleep = state
        .table
        .push(CappedSleep(tokio::time::Instant::from_std(until)))?;
    subscribe(&mut state.table, sleep)
}
