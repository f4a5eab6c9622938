//! Builds npm-style gzipped tarballs in memory, including malicious ones (raw names bypass `tar`'s checks).

use std::io::Write as _;

use flate2::write::GzEncoder;
use flate2::Compression;
use tar::{EntryType, Header};

/// One tarball entry.
#[derive(Debug, Clone)]
pub enum Entry {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, String),
    Hardlink(String, String),
    Fifo(String),
}

impl Entry {
    pub fn file(path: &str, contents: &str) -> Entry {
        Entry::File(path.to_string(), contents.as_bytes().to_vec())
    }
}

/// A `.tgz` with exactly these entries, names written verbatim.
pub fn tgz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        let (path, kind, data, link): (&str, EntryType, &[u8], Option<&str>) = match entry {
            Entry::File(p, d) => (p, EntryType::Regular, d, None),
            Entry::Dir(p) => (p, EntryType::Directory, &[], None),
            Entry::Symlink(p, t) => (p, EntryType::Symlink, &[], Some(t)),
            Entry::Hardlink(p, t) => (p, EntryType::Link, &[], Some(t)),
            Entry::Fifo(p) => (p, EntryType::Fifo, &[], None),
        };
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        set_raw(&mut header.as_old_mut().name, path);
        if let Some(link) = link {
            set_raw(&mut header.as_old_mut().linkname, link);
        }
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn set_raw(field: &mut [u8], value: &str) {
    assert!(value.len() < field.len(), "test path too long: {value}");
    field.fill(0);
    field[..value.len()].copy_from_slice(value.as_bytes());
}

/// The default contents of a published test package: `package.json` and an `index.js` naming itself.
pub fn default_package(name: &str, version: &str, top: &str) -> Vec<u8> {
    let manifest = serde_json::json!({"name": name, "version": version, "main": "index.js"});
    tgz(&[
        Entry::file(&format!("{top}/package.json"), &manifest.to_string()),
        Entry::file(
            &format!("{top}/index.js"),
            &format!("module.exports = {:?};\n", format!("{name}@{version}")),
        ),
        Entry::Dir(format!("{top}/lib/")),
        Entry::file(&format!("{top}/lib/util.js"), "exports.x = 1;\n"),
    ])
}
