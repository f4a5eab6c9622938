//! Reading packages safely and packing them deterministically.

use actionflow_marketplace::{digest, Package, PackageLimits};
use std::io::Write;

use crate::ses_package;

/// A `.tgz` with one entry whose raw name and type we choose (the tar crate's builder refuses
/// the names an attacker would write, so the header is written by hand).
fn tgz_with_entry(name: &[u8], kind: tar::EntryType, data: &[u8], link: Option<&[u8]>) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    if let Some(link) = link {
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    }
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(kind);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).expect("tar in memory");
    let tar = builder.into_inner().expect("tar in memory");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

#[test]
fn packing_is_deterministic_and_reads_back() {
    let package = ses_package();
    let (a, b) = (package.pack(), package.pack());
    assert_eq!(a, b);
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(digest(&a).len(), 64);
    let back = Package::from_tgz(&a, &PackageLimits::default()).unwrap();
    assert_eq!(back, package);
}

#[test]
fn path_traversal_absolute_paths_and_links_are_refused() {
    let limits = PackageLimits::default();
    let traversal = tgz_with_entry(b"../../etc/cron.d/x", tar::EntryType::Regular, b"x", None);
    let err = Package::from_tgz(&traversal, &limits).unwrap_err();
    assert_eq!(err.code, "path_traversal", "{err:?}");
    let absolute = tgz_with_entry(b"/etc/passwd", tar::EntryType::Regular, b"x", None);
    assert_eq!(
        Package::from_tgz(&absolute, &limits).unwrap_err().code,
        "absolute_path"
    );
    let link = tgz_with_entry(
        b"integration.action.js",
        tar::EntryType::Symlink,
        b"",
        Some(b"/etc/passwd"),
    );
    let err = Package::from_tgz(&link, &limits).unwrap_err();
    assert_eq!(err.code, "archive_link");
    assert_eq!(err.file.as_deref(), Some("integration.action.js"));
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    // 64 MiB of zeros compress to ~64 KiB: small enough to submit, too large to unpack.
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = tgz_with_entry(b"tests/big.json", tar::EntryType::Regular, &zeros, None);
    let limits = PackageLimits::default();
    assert!(bomb.len() < limits.package_bytes_max, "{}", bomb.len());
    let err = Package::from_tgz(&bomb, &limits).unwrap_err();
    assert_eq!(err.code, "decompression_limit", "{err:?}");
}

#[test]
fn an_oversize_package_is_refused_before_reading() {
    let limits = PackageLimits {
        package_bytes_max: 10,
        ..PackageLimits::default()
    };
    let err = Package::from_tgz(&ses_package().pack(), &limits).unwrap_err();
    assert_eq!(err.code, "package_too_large");
}
