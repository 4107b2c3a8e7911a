//! An upload being received: a temporary file in the spool's `incoming/` directory, written
//! chunk by chunk while its SHA-256, size and first bytes are taken, so a recording is never
//! held in memory. The file is removed when the upload is dropped unfinished (the caller went
//! away mid-body) or once it has been stored.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::key::Format;

/// The most a receiving file buffers before writing to disk.
const WRITE_BUF: usize = 128 * 1024;
/// How many leading bytes are kept for format sniffing.
const HEAD_LEN: usize = 16;
/// A canonical WAV header: the RIFF, `fmt ` and `data` chunk headers, no samples. FreeSWITCH
/// writes exactly this when a recording starts and no audio follows.
pub const WAV_HEADER_BYTES: u64 = 44;

/// Removes its file when dropped, unless the file has been moved elsewhere.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file now lives elsewhere (renamed into the spool): nothing to remove.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Synchronous and small: an unlink. A failure only leaves a stray file that the
            // start-up sweep removes.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A file being received.
#[derive(Debug)]
pub struct Incoming {
    file: tokio::fs::File,
    temp: TempFile,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

/// A completely received, flushed and fsynced upload.
#[derive(Debug)]
pub struct Received {
    pub(crate) temp: TempFile,
    pub size: u64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    head: Vec<u8>,
}

impl Incoming {
    pub(crate) async fn create(dir: &Path) -> std::io::Result<Incoming> {
        let path = dir.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        // tokio's file collects up to 2 MiB before each blocking write; with fifty uploads
        // arriving at once that alone was about 100 MB. Small writes keep memory flat.
        file.set_max_buf_size(WRITE_BUF);
        Ok(Incoming {
            file,
            temp: TempFile { path, armed: true },
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(HEAD_LEN),
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        self.file.write_all(chunk).await
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes and fsyncs: after this the content survives a crash.
    pub async fn finish(mut self) -> std::io::Result<Received> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let sha256 = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Received {
            temp: self.temp,
            size: self.size,
            sha256,
            head: self.head,
        })
    }
}

impl Received {
    /// The stored format: sniffed from the content, else from the part's file name.
    pub fn format(&self, file_name: Option<&str>) -> Format {
        Format::detect(&self.head, file_name)
    }

    /// A WAV file that is its header and nothing else (at most [`WAV_HEADER_BYTES`]): a leg
    /// whose recording was opened but never got a sample.
    pub fn is_header_only(&self) -> bool {
        is_header_only(&self.head, self.size)
    }
}

fn is_header_only(head: &[u8], size: u64) -> bool {
    size > 0 && size <= WAV_HEADER_BYTES && Format::sniff(head) == Some(Format::Wav)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(data_len: u32) -> Vec<u8> {
        let mut w = b"RIFF".to_vec();
        w.extend_from_slice(&(36 + data_len).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&[
            16, 0, 0, 0, 1, 0, 2, 0, 0x40, 0x1f, 0, 0, 0, 0x7d, 0, 0, 4, 0,
        ]);
        w.extend_from_slice(&[16, 0]);
        w.extend_from_slice(b"data");
        w.extend_from_slice(&data_len.to_le_bytes());
        w
    }

    #[test]
    fn a_wav_of_only_its_header_is_recognised() {
        let h = header(0);
        assert_eq!(h.len() as u64, WAV_HEADER_BYTES);
        assert!(is_header_only(&h[..HEAD_LEN], h.len() as u64));
        // One sample more is a recording, however short.
        assert!(!is_header_only(&h[..HEAD_LEN], WAV_HEADER_BYTES + 2));
        // Nothing at all is `empty`, not header-only; other formats are never header-only.
        assert!(!is_header_only(&[], 0));
        assert!(!is_header_only(b"ID3\x04\0\0\0\0\0\0", 10));
    }
}
