//! The local spool: where a recording waits when the bucket cannot take it, so that the
//! upload is still answered 200 once the file is durably on local disk (FreeSWITCH's hangup
//! hook runs once and does not retry). `incoming/` holds uploads being received, `pending/`
//! the recordings waiting to be pushed, one file per key (`/` written as `_`, which no key
//! contains). The spool is per instance: give each replica its own directory.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;

use super::{Download, Received, RecordingKey, Storage, StorageError};

/// Longest wait between push rounds while the backend keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Leftovers in `incoming/` older than this were abandoned by a process that died.
const STALE_INCOMING: Duration = Duration::from_secs(3600);

pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    retry: Duration,
    /// Serialises admissions so that two uploads cannot both see room for one.
    admit_lock: tokio::sync::Mutex<()>,
}

impl Spool {
    pub(crate) async fn open(
        dir: PathBuf,
        max_bytes: u64,
        retry: Duration,
    ) -> std::io::Result<Spool> {
        let spool = Spool {
            dir,
            max_bytes,
            retry,
            admit_lock: tokio::sync::Mutex::new(()),
        };
        tokio::fs::create_dir_all(spool.incoming_dir()).await?;
        tokio::fs::create_dir_all(spool.pending_dir()).await?;
        spool.sweep_incoming().await;
        Ok(spool)
    }

    pub(crate) fn incoming_dir(&self) -> PathBuf {
        self.dir.join("incoming")
    }

    fn pending_dir(&self) -> PathBuf {
        self.dir.join("pending")
    }

    fn file_for(&self, key: &RecordingKey) -> PathBuf {
        self.pending_dir().join(key.as_str().replace('/', "_"))
    }

    /// Moves a received, fsynced file into `pending/` if the spool has room.
    pub(crate) async fn admit(
        &self,
        received: Received,
        key: &RecordingKey,
    ) -> Result<(), StorageError> {
        let _guard = self.admit_lock.lock().await;
        if self.used_bytes().await + received.size > self.max_bytes {
            return Err(StorageError::SpoolFull);
        }
        tokio::fs::rename(received.temp.path(), self.file_for(key)).await?;
        received.temp.disarm();
        // The rename is durable only once the directory entry is.
        tokio::fs::File::open(self.pending_dir())
            .await?
            .sync_all()
            .await?;
        Ok(())
    }

    /// Forgets a spooled copy of `key`: a newer recording under the same key went straight to
    /// the backend, and the older one must neither be served nor pushed over it.
    pub(crate) async fn discard(&self, key: &RecordingKey) {
        let _guard = self.admit_lock.lock().await;
        match tokio::fs::remove_file(self.file_for(key)).await {
            Ok(()) => tracing::info!(key = %key, "spooled copy replaced by a newer recording"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "cannot remove a replaced spooled recording")
            }
        }
    }

    pub(crate) async fn holds(&self, key: &RecordingKey) -> bool {
        tokio::fs::try_exists(self.file_for(key))
            .await
            .unwrap_or(false)
    }

    pub(crate) async fn get(&self, key: &RecordingKey) -> Result<Option<Download>, StorageError> {
        let file = match tokio::fs::File::open(self.file_for(key)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        let body = futures_util::stream::unfold(file, |mut f| async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 64 * 1024];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), f))
                }
                Err(e) => Some((Err(StorageError::Io(e)), f)),
            }
        });
        Ok(Some(Download {
            size,
            body: body.boxed(),
        }))
    }

    /// Keys waiting in `pending/`, oldest name first.
    pub(crate) async fn keys(&self) -> Vec<RecordingKey> {
        let mut keys = Vec::new();
        if let Ok(mut dir) = tokio::fs::read_dir(self.pending_dir()).await {
            while let Ok(Some(entry)) = dir.next_entry().await {
                let name = entry.file_name().to_string_lossy().replace('_', "/");
                if let Some(k) = RecordingKey::parse(&name) {
                    keys.push(k);
                }
            }
        }
        keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        keys
    }

    async fn used_bytes(&self) -> u64 {
        let mut total = 0;
        if let Ok(mut dir) = tokio::fs::read_dir(self.pending_dir()).await {
            while let Ok(Some(entry)) = dir.next_entry().await {
                total += entry.metadata().await.map(|m| m.len()).unwrap_or(0);
            }
        }
        total
    }

    async fn sweep_incoming(&self) {
        let Ok(mut dir) = tokio::fs::read_dir(self.incoming_dir()).await else {
            return;
        };
        while let Ok(Some(entry)) = dir.next_entry().await {
            let stale = entry
                .metadata()
                .await
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_INCOMING);
            if stale {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
    }
}

/// Pushes every spooled recording once; returns how many are still waiting.
async fn push_round(storage: &Storage) -> usize {
    let spool = &storage.inner.spool;
    let mut left = 0;
    for key in spool.keys().await {
        let file = spool.file_for(&key);
        let size = match tokio::fs::metadata(&file).await {
            Ok(m) => m.len(),
            Err(_) => continue,
        };
        match storage.upload_file(&file, &key, size).await {
            Ok(()) => {
                tracing::info!(key = %key, "spooled recording pushed to object storage");
                let _ = tokio::fs::remove_file(&file).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, key = %key, "spooled recording not pushed yet");
                left += 1;
                // The backend is still down: the rest would fail the same way.
                break;
            }
        }
    }
    left
}

pub(super) async fn run(storage: Storage, mut stop: tokio::sync::watch::Receiver<bool>) {
    let base = storage.inner.spool.retry;
    let mut wait = base;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        wait = if push_round(&storage).await == 0 {
            base
        } else {
            (wait * 2).min(MAX_BACKOFF.max(base))
        };
    }
}
