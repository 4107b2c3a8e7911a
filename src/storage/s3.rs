//! The S3 client: built from the `AWS_*` environment and the settings, with short retries,
//! and the endpoint rewriting virtual-hosted style needs.

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ClientOptions, RetryConfig};

use super::{Settings, StorageError};

/// The S3 client: `AWS_*` environment first, then the settings. Retries are few and short:
/// an upload waits on them, and a backend that stays down is what the spool is for.
pub(super) fn client(settings: &Settings, bucket: &str) -> Result<AmazonS3, StorageError> {
    let endpoint = settings
        .endpoint
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    // Client options replace the whole set, so they go first and carry allow_http.
    let client = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(3))
        .with_timeout(Duration::from_secs(120))
        .with_allow_http(
            endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://")),
        );
    let mut b = AmazonS3Builder::from_env()
        .with_client_options(client)
        .with_bucket_name(bucket);
    if let Some(ep) = endpoint {
        b = b.with_endpoint(bucket_endpoint(&ep, bucket, settings.path_style));
    }
    b = b.with_virtual_hosted_style_request(!settings.path_style);
    if let Some(r) = &settings.region {
        b = b.with_region(r);
    }
    if let Some(k) = &settings.access_key_id {
        b = b.with_access_key_id(k);
    }
    if let Some(s) = &settings.secret_access_key {
        b = b.with_secret_access_key(s);
    }
    let retry = RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(15),
        ..RetryConfig::default()
    };
    b.with_retry(retry)
        .build()
        .map_err(|e| StorageError::Config(e.to_string()))
}

/// The endpoint the S3 client is given. In virtual-hosted style it must already name the
/// bucket (`https://bucket.oss-cn-hangzhou.aliyuncs.com`), which the operator should not have
/// to spell out; in path style it is the bare service endpoint.
fn bucket_endpoint(endpoint: &str, bucket: &str, path_style: bool) -> String {
    let ep = endpoint.trim_end_matches('/');
    if path_style {
        return ep.to_string();
    }
    match ep.split_once("://") {
        Some((scheme, host)) if !host.starts_with(&format!("{bucket}.")) => {
            format!("{scheme}://{bucket}.{host}")
        }
        _ => ep.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosted_endpoints_gain_the_bucket_once() {
        assert_eq!(
            bucket_endpoint("https://oss-cn-hangzhou.aliyuncs.com/", "rec", false),
            "https://rec.oss-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            bucket_endpoint("https://rec.oss-cn-hangzhou.aliyuncs.com", "rec", false),
            "https://rec.oss-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            bucket_endpoint("http://127.0.0.1:9000/", "rec", true),
            "http://127.0.0.1:9000"
        );
    }
}
