//! Node's built-in modules for actions: Deno's Node compatibility layer (`deno_node` and the extension
//! crates it stands on) set up so that nothing of the host reaches an action. What each isolate gets:
//! - a file system that is a read-only view of the action's package files (`fs.rs`);
//! - permissions that deny everything but reading that view and reaching public addresses (or any
//!   address when the embedder allows private ones): no environment, no subprocess, no FFI, no write;
//! - an empty in-memory `Sys` for the ops that read host files or variables through it;
//! - ops that would act on the process (exit, signals, spawn, native addons, workers) disabled.
//!
//! It must not know which action runs or why; the bootstrap JavaScript (`js/05_node.js`) decides which
//! built-ins an action may load and what `process` shows.

mod fs;
mod no_npm;
mod ops;
mod permissions;
mod sources;

use deno_core::Extension;
use std::rc::Rc;
use std::sync::Arc;

pub(crate) use fs::PackageFs;
pub(crate) use permissions::{permissions, restricted_permissions};

type Sys = sys_traits::impls::InMemorySys;
use no_npm::NoNpmPackages;

/// The extensions of the Node layer, in dependency order, for one isolate (or for the snapshot,
/// with no files yet). Sockets may reach public addresses only until the isolate is assigned.
pub(crate) fn extensions(fs: Rc<PackageFs>) -> Vec<Extension> {
    tls_provider();
    let fs: deno_fs::FileSystemRc = fs;
    [
        deno_telemetry::deno_telemetry::init(),
        deno_webidl::deno_webidl::init(),
        deno_web::deno_web::init(
            Arc::new(deno_web::BlobStore::default()),
            None,
            false,
            deno_web::InMemoryBroadcastChannel::default(),
        ),
        // For its classes (Headers, Request, Response, FormData); its network ops are disabled and
        // `fetch` is ours (`js/02_fetch.js`), over the shared client that applies the policy.
        deno_fetch::deno_fetch::init(deno_fetch::Options::default()),
        deno_crypto::deno_crypto::init(None),
        deno_net::deno_net::init(None, None),
        deno_tls::deno_tls::init(),
        deno_io::deno_io::init(None),
        deno_fs::deno_fs::init(fs.clone()),
        deno_os::deno_os::init(None),
        deno_process::deno_process::init(None),
        deno_node_crypto::deno_node_crypto::init(),
        deno_node::deno_node::init::<NoNpmPackages, NoNpmPackages, Sys>(None, fs),
    ]
    .into_iter()
    .map(sources::embed)
    .map(without_synthetic_node_modules)
    .chain([ops::runtime::init()])
    .collect()
}

/// deno_node registers `node:crypto`, `node:process`… as deno_core "synthetic" ES modules, which
/// deno_core resolves before asking our module loader. An action's `import … from "node:x"` would then
/// get deno_node's module unfitted (bypassing `js/05_node.js`: its refusals, the empty
/// `process.env`), and building one inside V8's resolve callback evaluates scripts there, which
/// aborts the process on a graph importing several of them (deno_core's module map loses its slot:
/// jose's ES module build did it). Without them, every `node:` import goes through our loader, like
/// `require`.
fn without_synthetic_node_modules(mut ext: Extension) -> Extension {
    ext.synthetic_esm_modules = std::borrow::Cow::Borrowed(&[]);
    ext
}

/// deno_tls builds its client configurations with rustls' process-wide provider, which rustls picks
/// by itself only when exactly one of its providers is compiled in. In a binary that also holds the
/// AWS SDK there are two, and the first `https.get` panicked in the isolate thread. Installed once,
/// before any isolate exists; an embedder's earlier choice is kept.
fn tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
