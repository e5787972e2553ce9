//! Feeds arbitrary bytes to `steward_packages::inspect` as an uploaded file. Any panic is a
//! crash here even though `inspect` catches parser panics: libFuzzer's panic hook aborts first,
//! so a parser that gives up on an input by panicking is found too.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use steward_packages::{Limits, inspect};

fn scratch() -> Option<&'static tempfile::TempDir> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(dir) = scratch() else { return };
    let path = dir.path().join("upload");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    // Small limits, so that the limit paths are reached too.
    let limits = Limits {
        max_file_bytes: 16 * 1024 * 1024,
        max_manifest_bytes: 1024 * 1024,
        max_uncompressed_bytes: 64 * 1024 * 1024,
        max_entries: 1000,
        max_icon_bytes: 64 * 1024,
    };
    let _ = inspect(&path, &limits);
});
