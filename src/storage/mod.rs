//! Recordings in object storage: a local directory (`file://`) or an S3-compatible bucket
//! (`s3://bucket/prefix`), behind one small type. It owns the object keys, streaming uploads
//! from a received temporary file, the local spool that takes a recording when the bucket is
//! unreachable (pushed later by [`Storage::run_spool`]), and the URLs a recording is fetched
//! at: a presigned GET for S3, a callplane URL signed with the server secret otherwise.

mod incoming;
mod key;
mod local;
mod s3;
mod spool;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

pub use incoming::{Incoming, Received, WAV_HEADER_BYTES};
pub use key::{Format, RecordingKey, parse_strict_uuid};
use spool::Spool;

/// Files up to this size go up in one PUT; larger ones as a multipart upload of parts this
/// big (S3's minimum part size is 5 MiB).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts in flight at once for one multipart upload.
const PART_CONCURRENCY: usize = 2;
/// Recordings written to S3 at once; each holds at most `PART_CONCURRENCY` parts in memory.
const BUFFERED_PUTS: usize = 4;

/// What the storage needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `file:///path` (relative paths allowed: `file://./data`) or `s3://bucket/prefix`.
    pub url: String,
    /// S3 only: path-style (`endpoint/bucket/key`) rather than virtual-hosted-style
    /// (`bucket.endpoint/key`) requests.
    pub path_style: bool,
    /// S3 only; unset values come from the usual `AWS_*` environment variables.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub spool_dir: PathBuf,
    pub spool_max_bytes: u64,
    pub spool_retry: Duration,
    /// Base URL of this service, for locally served recording URLs.
    pub public_url: String,
    /// Server secret that signs locally served recording URLs.
    pub secret: String,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such recording")]
    NotFound,
    #[error("storage is misconfigured: {0}")]
    Config(String),
    /// The bucket was unreachable and the spool has no room left: retry later.
    #[error("object storage is unavailable and the local spool is full")]
    SpoolFull,
    #[error("object storage: {0}")]
    Backend(#[from] object_store::Error),
    #[error("local disk: {0}")]
    Io(#[from] std::io::Error),
}

impl StorageError {
    /// Whether trying again later may succeed (the backend or the disk may come back).
    pub fn is_retryable(&self) -> bool {
        match self {
            StorageError::NotFound | StorageError::Config(_) => false,
            StorageError::Backend(e) => !matches!(
                e,
                object_store::Error::NotFound { .. }
                    | object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
            ),
            StorageError::SpoolFull | StorageError::Io(_) => true,
        }
    }
}

/// Where a recording ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// In the bucket or directory.
    Stored,
    /// In the local spool, waiting for the bucket to come back.
    Spooled,
}

/// A recording's bytes, streamed.
pub struct Download {
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

/// The recordings store; cheap to clone.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn ObjectStore>,
    /// Present for the S3 backend: it presigns URLs.
    s3: Option<Arc<AmazonS3>>,
    /// The `s3://bucket/prefix` prefix; empty for a local directory.
    prefix: String,
    /// The directory of a `file://` backend: recordings are moved or copied into it by the
    /// kernel instead of passing through memory.
    local_root: Option<std::path::PathBuf>,
    /// Bounds the backend writes that buffer a recording in memory (S3 puts and parts), so
    /// that many uploads finishing at once cannot add up to hundreds of megabytes.
    buffered_puts: tokio::sync::Semaphore,
    spool: Spool,
    public_url: String,
    secret: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({})", self.inner.store)
    }
}

impl Storage {
    /// Opens the backend named by `settings.url` and the spool (directories are created).
    /// Nothing is sent to a bucket here; see [`Storage::check`].
    pub async fn open(settings: Settings) -> Result<Storage, StorageError> {
        let spool = Spool::open(
            settings.spool_dir.clone(),
            settings.spool_max_bytes,
            settings.spool_retry,
        )
        .await?;
        let mut local_root = None;
        let (store, s3, prefix): (Arc<dyn ObjectStore>, _, _) =
            if let Some(dir) = settings.url.strip_prefix("file://") {
                tokio::fs::create_dir_all(dir).await?;
                local_root = Some(tokio::fs::canonicalize(dir).await?);
                let fs = LocalFileSystem::new_with_prefix(dir)?;
                (Arc::new(fs), None, String::new())
            } else if let Some(rest) = settings.url.strip_prefix("s3://") {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let s3 = Arc::new(s3::client(&settings, bucket)?);
                (s3.clone(), Some(s3), prefix.trim_matches('/').to_string())
            } else {
                return Err(StorageError::Config(format!(
                    "'{}' is neither file:// nor s3://",
                    settings.url
                )));
            };
        Ok(Storage {
            inner: Arc::new(Inner {
                store,
                s3,
                prefix,
                local_root,
                buffered_puts: tokio::sync::Semaphore::new(BUFFERED_PUTS),
                spool,
                public_url: settings.public_url.trim_end_matches('/').to_string(),
                secret: settings.secret,
            }),
        })
    }

    /// Asks the backend two cheap questions so that a wrong bucket, region, endpoint or key
    /// shows at start rather than at the first recording. A HEAD of a probe key tells
    /// "unreachable" (retryable) from "credentials refused" (403/401); once the service has
    /// answered, a one-page listing under the prefix must succeed too, or the bucket (or its
    /// region) is wrong. Listing errors alone cannot tell these apart: the client reports them
    /// all as generic.
    pub async fn check(&self) -> Result<(), StorageError> {
        let probe = if self.inner.prefix.is_empty() {
            ObjectPath::from(".callplane-check")
        } else {
            ObjectPath::from(format!("{}/.callplane-check", self.inner.prefix))
        };
        match self.inner.store.head(&probe).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let prefix = (!self.inner.prefix.is_empty()).then(|| ObjectPath::from(&*self.inner.prefix));
        self.inner
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|e| StorageError::Config(e.to_string()))?;
        Ok(())
    }

    /// Starts receiving an upload into a temporary file.
    pub async fn begin_upload(&self) -> std::io::Result<Incoming> {
        Incoming::create(&self.inner.spool.incoming_dir()).await
    }

    /// Stores a received recording under `key`. When the backend fails, the file goes to the
    /// spool instead (a rename: it is already fsynced) and is pushed later.
    pub async fn put(
        &self,
        key: &RecordingKey,
        received: Received,
    ) -> Result<Placement, StorageError> {
        match self
            .upload_file(received.temp.path(), key, received.size)
            .await
        {
            Ok(()) => {
                // A shorter recording of the call may wait in the spool under the same key.
                self.inner.spool.discard(key).await;
                Ok(Placement::Stored)
            }
            Err(e) => {
                tracing::warn!(error = %e, key = %key, "object storage write failed; spooling the recording");
                self.inner.spool.admit(received, key).await?;
                Ok(Placement::Spooled)
            }
        }
    }

    /// Streams a file into the backend: one PUT when small, else a multipart upload that is
    /// aborted on any failure so that no partial object is left behind.
    async fn upload_file(
        &self,
        file: &std::path::Path,
        key: &RecordingKey,
        size: u64,
    ) -> Result<(), StorageError> {
        if let Some(root) = &self.inner.local_root {
            return Ok(local::place(file, &root.join(key.as_str())).await?);
        }
        let path = self.object_path(key);
        let store = &self.inner.store;
        // Closed never: the semaphore lives as long as the storage.
        let _permit = self.inner.buffered_puts.acquire().await;
        if size <= PART_BYTES as u64 {
            let bytes = tokio::fs::read(file).await?;
            store.put(&path, Bytes::from(bytes).into()).await?;
            return Ok(());
        }
        let mut writer =
            WriteMultipart::new_with_chunk_size(store.put_multipart(&path).await?, PART_BYTES);
        let copied: Result<(), StorageError> = async {
            let mut f = tokio::fs::File::open(file).await?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = f.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                writer.wait_for_capacity(PART_CONCURRENCY).await?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        match copied {
            Ok(()) => {
                writer.finish().await?;
                Ok(())
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// The recording's bytes, from the spool while it waits there, else from the backend.
    pub async fn get(&self, key: &RecordingKey) -> Result<Download, StorageError> {
        if let Some(d) = self.inner.spool.get(key).await? {
            return Ok(d);
        }
        let got = match self.inner.store.get(&self.object_path(key)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Err(StorageError::NotFound),
            Err(e) => return Err(e.into()),
        };
        Ok(Download {
            size: got.meta.size,
            body: got.into_stream().map_err(StorageError::from).boxed(),
        })
    }

    /// A URL that fetches the recording for `ttl` without further credentials: presigned GET
    /// on S3; on a local directory (or while the recording waits in the spool) a callplane
    /// URL `PUBLIC_URL/recordings/<key>?expires=<unix>&sig=<hmac>`.
    pub async fn recording_url(
        &self,
        key: &RecordingKey,
        ttl: Duration,
    ) -> Result<String, StorageError> {
        if let Some(s3) = &self.inner.s3
            && !self.inner.spool.holds(key).await
        {
            let url = s3
                .signed_url(
                    object_store::signer::Method::GET,
                    &self.object_path(key),
                    ttl,
                )
                .await?;
            return Ok(url.to_string());
        }
        let expires = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
        Ok(format!(
            "{}/recordings/{key}?expires={expires}&sig={}",
            self.inner.public_url,
            self.sign_local(key.as_str(), expires)
        ))
    }

    /// Checks a locally served URL's signature and expiry (`key` as it appears in the path).
    pub fn verify_local_url(&self, key: &str, expires: &str, sig: &str) -> bool {
        let Ok(exp) = expires.parse::<i64>() else {
            return false;
        };
        // Check the signature whatever the time says, so both answers take as long.
        let signed = crate::tokens::verify(
            &self.inner.secret,
            "recording",
            &format!("{key}\n{exp}"),
            sig,
        );
        signed && exp > chrono::Utc::now().timestamp()
    }

    fn sign_local(&self, key: &str, expires: i64) -> String {
        crate::tokens::sign(
            &self.inner.secret,
            "recording",
            &format!("{key}\n{expires}"),
        )
    }

    /// Pushes spooled recordings to the backend until `stop` turns true: every `spool_retry`,
    /// backing off to five minutes while the backend keeps failing.
    pub async fn run_spool(self, stop: tokio::sync::watch::Receiver<bool>) {
        spool::run(self, stop).await
    }

    /// Recordings waiting in the spool.
    pub async fn spooled(&self) -> Vec<RecordingKey> {
        self.inner.spool.keys().await
    }

    fn object_path(&self, key: &RecordingKey) -> ObjectPath {
        if self.inner.prefix.is_empty() {
            ObjectPath::from(key.as_str())
        } else {
            ObjectPath::from(format!("{}/{}", self.inner.prefix, key))
        }
    }
}
