//! The startup snapshot: our bootstrap JavaScript evaluated once per process and serialised, so a new
//! isolate starts from it instead of re-running the bootstrap (the cold path stays a few milliseconds).

use crate::node;
use crate::ops::actionflow;
use deno_core::{JsRuntimeForSnapshot, RuntimeOptions};
use std::rc::Rc;
use std::sync::OnceLock;

static SNAPSHOT: OnceLock<Result<&'static [u8], String>> = OnceLock::new();

/// The snapshot, made on first use. It is made on a thread of its own: an isolate is bound to the
/// thread that created it, and the calling thread may already own one.
pub(crate) fn get() -> Result<&'static [u8], String> {
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
