//! Placing a received recording in a `file://` backend without reading it into memory: the
//! fsynced temporary file is renamed into place, or, when the spool and the recordings
//! directory are on different file systems, copied by the kernel to a staging name and renamed.
//! Readers see either no file or the whole recording, never a part of it.

use std::io::ErrorKind;
use std::path::Path;

/// Moves (or copies) `file` to `dest`, creating its directories, and makes the result durable.
/// `file` may be gone afterwards; callers treat it as consumed on success.
pub(super) async fn place(file: &Path, dest: &Path) -> std::io::Result<()> {
    let dir = dest
        .parent()
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "key has no directory"))?;
    tokio::fs::create_dir_all(dir).await?;
    match tokio::fs::rename(file, dest).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::CrossesDevices => {
            let staging = dest.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple()));
            let copied = async {
                tokio::fs::copy(file, &staging).await?;
                tokio::fs::File::open(&staging).await?.sync_all().await?;
                tokio::fs::rename(&staging, dest).await
            }
            .await;
            if copied.is_err() {
                let _ = tokio::fs::remove_file(&staging).await;
            }
            copied?;
        }
        Err(e) => return Err(e),
    }
    // The rename is durable once the directory entry is.
    tokio::fs::File::open(dir).await?.sync_all().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_is_moved_into_a_new_directory_whole() {
        let root = std::env::temp_dir().join(format!("cp-local-{}", uuid::Uuid::new_v4()));
        tokio::fs::create_dir_all(&root).await.unwrap();
        let src = root.join("incoming.part");
        tokio::fs::write(&src, b"RIFF recording").await.unwrap();
        let dest = root.join("2026/11/26/a.wav");
        place(&src, &dest).await.unwrap();
        assert_eq!(tokio::fs::read(&dest).await.unwrap(), b"RIFF recording");
        assert!(
            !src.exists(),
            "the temporary file was moved, not left behind"
        );
        // Storing again over an existing recording replaces it whole.
        tokio::fs::write(&src, b"RIFF second").await.unwrap();
        place(&src, &dest).await.unwrap();
        assert_eq!(tokio::fs::read(&dest).await.unwrap(), b"RIFF second");
        tokio::fs::remove_dir_all(&root).await.unwrap();
    }
}
