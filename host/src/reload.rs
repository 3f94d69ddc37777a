//! What starts a reload besides `Admin.Reload`: SIGHUP, and changes in the bundle directory (a debounced
//! file watcher). All three end in [`Shared::reload`], which builds the next bundle off the request path and
//! keeps the running one when the new one fails.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use crate::server::{ReloadError, Shared, Trigger};

/// How long the directory must be quiet before a reload: copying a bundle in writes several files, and
/// the reload should see them all.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Reloads on every SIGHUP until the process ends (so a SIGHUP never kills the service).
#[cfg(unix)]
pub fn on_sighup(shared: Arc<Shared>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            // A failure is logged, counted and shown by Admin.Status inside `reload`.
            if let Err(ReloadError::NoDirectory) = shared.reload(Trigger::Sighup).await {
                tracing::warn!("SIGHUP: serving the built-in bundle, there is nothing to reload");
            }
        }
    });
    Ok(())
}

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
}

/// Watches the bundle directory and reloads once it has been quiet for [`DEBOUNCE`] after a change.
pub fn watch(shared: Arc<Shared>, dir: PathBuf) -> Result<Watcher, String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut debouncer = new_debouncer(DEBOUNCE, move |events: DebounceEventResult| match events {
        // A full channel means a reload is already due; this change will be in it.
        Ok(_) => {
            let _ = tx.try_send(());
        }
        Err(e) => tracing::warn!(error = %e, "bundle watcher error"),
    })
    .map_err(|e| format!("cannot start a file watcher: {e}"))?;
    debouncer
        .watcher()
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            let _ = shared.reload(Trigger::Watch).await;
        }
    });
    Ok(Watcher {
        _debouncer: debouncer,
    })
}
