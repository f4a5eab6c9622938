//! The startup snapshot: our bootstrap JavaScript (the Node layer included) evaluated once and
//! serialised, so a new isolate starts from it instead of re-running the bootstrap (the cold path
//! stays a few milliseconds). A process makes it on first use, or is handed one made by another
//! process of the same binary ([`provide`]): a server makes it once for all its sandboxes, which
//! would otherwise each spend the time making the same bytes.

use crate::node;
use crate::ops::actionflow;
use deno_core::{JsRuntimeForSnapshot, RuntimeOptions};
use std::rc::Rc;
use std::sync::OnceLock;

static SNAPSHOT: OnceLock<Result<&'static [u8], String>> = OnceLock::new();

/// Uses `bytes`, made by [`get`] in another process of this same binary, as this process's snapshot.
/// `false` when this process already has one (made or provided), which it keeps.
pub fn provide(bytes: &'static [u8]) -> bool {
    SNAPSHOT.set(Ok(bytes)).is_ok()
}

/// The snapshot, made on first use (unless one was [provided](provide)). It is made on a thread of
/// its own: an isolate is bound to the thread that created it, and the calling thread may already
/// own one.
pub fn get() -> Result<&'static [u8], String> {
    SNAPSHOT
        .get_or_init(|| {
            std::thread::Builder::new()
                .name("af-snapshot".into())
                .spawn(make)
                .map_err(|e| e.to_string())?
                .join()
                .map_err(|_| "creating the startup snapshot panicked".to_owned())?
        })
        .clone()
}

fn make() -> Result<&'static [u8], String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let _guard = rt.enter();
    let mut extensions = node::extensions(Rc::new(node::PackageFs::empty()));
    extensions.push(actionflow::init());
    let runtime = JsRuntimeForSnapshot::try_new(RuntimeOptions {
        extensions,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    Ok(Box::leak(runtime.snapshot()))
}
