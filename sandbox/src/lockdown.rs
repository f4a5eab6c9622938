//! Least privilege inside a sandbox, applied by the sandbox to itself before it makes any thread
//! (every later thread inherits it): no core dumps and no reading its memory from other processes
//! of the user, death with the server, a bounded number of file descriptors, the file system
//! confined to the package files (Landlock), and no new processes or Unix sockets (seccomp). Where
//! the kernel lacks Landlock the rest still applies; [`apply`] reports what held.

use crate::SandboxError;
use landlock::{
    Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    ABI,
};
use nix::sys::resource::{setrlimit, Resource};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// File descriptors a sandbox may hold: sockets of the executions' `fetch` calls, the runtime's own.
const FILES_OPEN_MAX: u64 = 4096;

/// What the resolver reads to turn a host name into addresses (`fetch`, host modules).
const RESOLVER_FILES: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
];

/// Where TLS clients (host modules such as `actionflow:ses`) find the system's root certificates:
/// public data, read-only. Not `/etc/ssl` as a whole, which holds private keys.
const CERTIFICATE_PATHS: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/ssl/cert.pem",
    "/etc/pki/tls/certs",
    "/etc/pki/ca-trust/extracted",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
];

/// How much of the confinement the kernel enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confinement {
    /// Landlock rules apply in full.
    Full,
    /// The kernel knows an older Landlock: some rights could not be restricted.
    Partial,
    /// No Landlock in this kernel: the file system is not confined (seccomp and limits still are).
    NoLandlock,
}

pub fn apply(readable: &[PathBuf]) -> Result<Confinement, SandboxError> {
    let fail =
        |what: &'static str| move |e: nix::Error| SandboxError::Lockdown(format!("{what}: {e}"));
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(fail("dying with the server"))?;
    nix::sys::prctl::set_dumpable(false).map_err(fail("turning core dumps off"))?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(fail("turning core dumps off"))?;
    setrlimit(Resource::RLIMIT_NOFILE, FILES_OPEN_MAX, FILES_OPEN_MAX)
        .map_err(fail("bounding file descriptors"))?;
    let confinement = confine_files(readable)?;
    refuse_processes()?;
    Ok(confinement)
}

fn confine_files(readable: &[PathBuf]) -> Result<Confinement, SandboxError> {
    let fail = |e: landlock::RulesetError| SandboxError::Lockdown(format!("landlock: {e}"));
    let abi = ABI::V3;
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(fail)?
        .create()
        .map_err(fail)?;
    let paths = readable.iter().map(PathBuf::as_path).chain(
        RESOLVER_FILES
            .iter()
            .chain(CERTIFICATE_PATHS)
            .map(std::path::Path::new),
    );
    for path in paths {
        // A path that does not exist (no /etc/gai.conf) grants nothing.
        let Ok(fd) = PathFd::new(path) else { continue };
        let access = if path.is_dir() {
            AccessFs::from_read(abi)
        } else {
            AccessFs::from_read(abi) & AccessFs::from_file(abi)
        };
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, access))
            .map_err(fail)?;
    }
    let status = ruleset.restrict_self().map_err(fail)?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Confinement::Full,
        RulesetStatus::PartiallyEnforced => Confinement::Partial,
        RulesetStatus::NotEnforced => Confinement::NoLandlock,
    })
}

/// `execve`, `fork` and a `clone` that makes a process (not a thread) fail with `EPERM`, as do Unix
/// sockets (the database's socket among them), `ptrace` and reading other processes' memory;
/// `clone3` fails with `ENOSYS`, so that the C library makes its threads with `clone`, whose flags a
/// filter can read.
fn refuse_processes() -> Result<(), SandboxError> {
    let fail = |e: seccompiler::Error| SandboxError::Lockdown(format!("seccomp: {e}"));
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e: seccompiler::BackendError| SandboxError::Lockdown(format!("seccomp: {e}")))?;
    let without_thread_flag = SeccompRule::new(vec![SeccompCondition::new(
        0,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::MaskedEq(nix::libc::CLONE_THREAD as u64),
        0,
    )
    .map_err(|e| fail(e.into()))?])
    .map_err(|e| fail(e.into()))?;
    let unix_socket = SeccompRule::new(vec![SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        nix::libc::AF_UNIX as u64,
    )
    .map_err(|e| fail(e.into()))?])
    .map_err(|e| fail(e.into()))?;
    let mut refused: BTreeMap<i64, Vec<SeccompRule>> = [
        (nix::libc::SYS_execve, vec![]),
        (nix::libc::SYS_execveat, vec![]),
        (nix::libc::SYS_ptrace, vec![]),
        (nix::libc::SYS_process_vm_readv, vec![]),
        (nix::libc::SYS_process_vm_writev, vec![]),
        (nix::libc::SYS_clone, vec![without_thread_flag]),
        (nix::libc::SYS_socket, vec![unix_socket]),
    ]
    .into_iter()
    .collect();
    #[cfg(target_arch = "x86_64")]
    {
        refused.insert(nix::libc::SYS_fork, vec![]);
        refused.insert(nix::libc::SYS_vfork, vec![]);
    }
    let eperm = SeccompAction::Errno(nix::libc::EPERM as u32);
    let filter = SeccompFilter::new(refused, SeccompAction::Allow, eperm, arch)
        .map_err(|e| fail(e.into()))?;
    let clone3 = SeccompFilter::new(
        [(nix::libc::SYS_clone3, vec![])].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(nix::libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| fail(e.into()))?;
    for filter in [filter, clone3] {
        let program: seccompiler::BpfProgram = filter
            .try_into()
            .map_err(|e: seccompiler::BackendError| fail(e.into()))?;
        seccompiler::apply_filter(&program).map_err(fail)?;
    }
    Ok(())
}
