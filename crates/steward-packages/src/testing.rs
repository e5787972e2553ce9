//! Test support (feature `testing`): zip archives built byte by byte, so that tests can make
//! the hostile ones a real zip writer refuses to write: entries whose declared sizes lie (zip
//! bombs), names that leave the archive, duplicate names.

/// A zip archive under construction. Entries are stored or deflated; `declared`, when set, is
/// the uncompressed size the archive claims for the entries added next, whatever they hold.
#[derive(Debug, Default)]
pub struct ZipBuilder {
    out: Vec<u8>,
    central: Vec<u8>,
    count: u16,
    pub declared: Option<u32>,
}

/// The low 32 bits of a length, as the zip format keeps them.
fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ZipBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` stored, under `name` (taken as it is, `../` and all).
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        self.add_with(name, bytes, 0, crc32(bytes), u32_of(bytes.len()));
    }

    /// Adds `bytes` deflated.
    pub fn add_deflated(&mut self, name: &str, bytes: &[u8]) {
        use std::io::Write;
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let compressed = encoder
            .write_all(bytes)
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        self.add_with(name, &compressed, 8, crc32(bytes), u32_of(bytes.len()));
    }

    fn add_with(&mut self, name: &str, data: &[u8], method: u16, crc: u32, real: u32) {
        let offset = u32_of(self.out.len());
        let size = u32_of(data.len());
        let declared = self.declared.unwrap_or(real);
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        let out = &mut self.out;
        out.extend(0x04034b50u32.to_le_bytes());
        out.extend([20, 0, 0, 0]);
        out.extend(method.to_le_bytes());
        out.extend([0, 0, 0, 0]);
        out.extend(crc.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(declared.to_le_bytes());
        out.extend(name_len.to_le_bytes());
        out.extend([0, 0]);
        out.extend(name.as_bytes());
        out.extend(data);
        let central = &mut self.central;
        central.extend(0x02014b50u32.to_le_bytes());
        central.extend([20, 0, 20, 0, 0, 0]);
        central.extend(method.to_le_bytes());
        central.extend([0, 0, 0, 0]);
        central.extend(crc.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(declared.to_le_bytes());
        central.extend(name_len.to_le_bytes());
        central.extend([0u8; 12]);
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
        self.count = self.count.saturating_add(1);
    }

    /// The archive's bytes: the entries, their central directory and its end record.
    pub fn finish(mut self) -> Vec<u8> {
        let start = u32_of(self.out.len());
        let len = u32_of(self.central.len());
        self.out.extend_from_slice(&self.central);
        self.out.extend(0x06054b50u32.to_le_bytes());
        self.out.extend([0, 0, 0, 0]);
        self.out.extend(self.count.to_le_bytes());
        self.out.extend(self.count.to_le_bytes());
        self.out.extend(len.to_le_bytes());
        self.out.extend(start.to_le_bytes());
        self.out.extend([0, 0]);
        self.out
    }
}

/// A zip of `entries` (name, bytes), stored.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipBuilder::new();
    for (name, bytes) in entries {
        w.add(name, bytes);
    }
    w.finish()
}

/// A zip bomb: entries that declare 4 GiB each and hold a few bytes, beside a manifest.
pub fn zip_bomb() -> Vec<u8> {
    let mut w = ZipBuilder::new();
    w.declared = Some(u32::MAX);
    for i in 0..3 {
        w.add(&format!("res/raw/blob{i}"), b"tiny");
    }
    w.declared = None;
    w.add("AndroidManifest.xml", b"x");
    w.finish()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}
