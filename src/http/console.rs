//! The operator console at `/console/`: static HTML, CSS and JavaScript modules from the
//! repository's `console/` directory, embedded in the binary so it works offline and needs no
//! CDN. The console is a client of the public `/v1` API only; these routes serve files and
//! nothing else, without the API key (the key is entered in the browser and sent by the
//! console's own requests).
//!
//! Every answer carries a strict Content-Security-Policy: scripts, styles and data only from
//! this origin, no inline script. Recordings are the exception that needs thought: their
//! signed URLs point at `CALLPLANE_PUBLIC_URL` (local storage) or at the S3 endpoint, which may
//! be another origin than the one the browser used, so those origins are allowed for media.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::config::Config;

/// One embedded file: path under `/console/`, content type, bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $ct:expr) => {
        Asset {
            path: $path,
            content_type: $ct,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/main.js", JS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/i18n.js", JS),
    asset!("js/lang_en.js", JS),
    asset!("js/lang_zh.js", JS),
    asset!("js/chart.js", JS),
    asset!("js/overview.js", JS),
    asset!("js/calls.js", JS),
    asset!("js/call_detail.js", JS),
    asset!("js/gateways.js", JS),
    asset!("js/extensions.js", JS),
    asset!("js/forms.js", JS),
    asset!("js/dial.js", JS),
];

/// The headers every console answer shares, built once from the configuration.
#[derive(Clone)]
struct Policy {
    csp: HeaderValue,
}

pub fn routes(config: &Config) -> Router<AppState> {
    let endpoint = config
        .storage
        .endpoint
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    let csp = content_security_policy(&media_sources(
        &config.public_url(),
        &config.storage.url,
        endpoint.as_deref(),
        config.storage.path_style,
    ));
    let policy = Arc::new(Policy {
        csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| {
            HeaderValue::from_static("default-src 'self'; object-src 'none'; base-uri 'none'")
        }),
    });
    let index = policy.clone();
    let file = policy.clone();
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route(
            "/console/",
            get(move |headers: HeaderMap| async move { serve(&index, "index.html", &headers) }),
        )
        .route(
            "/console/{*path}",
            get(
                move |Path(path): Path<String>, headers: HeaderMap| async move {
                    serve(&file, &path, &headers)
                },
            ),
        )
}

/// The policy: everything from this origin only, media also from where recordings live.
fn content_security_policy(media: &[String]) -> String {
    let mut media_src = String::from("'self'");
    for m in media {
        media_src.push(' ');
        media_src.push_str(m);
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; media-src {media_src}; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Origins recording URLs may point at besides the console's own: the public URL (local
/// storage and the spool are served from there) and, with S3, the endpoint (with a wildcard
/// for the bucket's virtual host) or AWS's own hosts.
fn media_sources(
    public_url: &str,
    storage_url: &str,
    endpoint: Option<&str>,
    path_style: bool,
) -> Vec<String> {
    let origin = |u: &str| {
        reqwest::Url::parse(u)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.origin().ascii_serialization())
    };
    let mut out: Vec<String> = origin(public_url).into_iter().collect();
    if storage_url.starts_with("s3://") {
        match endpoint.and_then(|e| reqwest::Url::parse(e).ok()) {
            Some(ep) if matches!(ep.scheme(), "http" | "https") => {
                if let Some(o) = origin(ep.as_str()) {
                    if !path_style && let Some(rest) = o.split_once("://") {
                        out.push(format!("{}://*.{}", rest.0, rest.1));
                    }
                    out.push(o);
                }
            }
            _ => out.push("https://*.amazonaws.com".into()),
        }
    }
    out.dedup();
    out
}

/// Asset digests for `ETag`, computed on first use.
fn etag(asset: &Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let d = Sha256::digest(a.body);
                let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    });
    ASSETS
        .iter()
        .position(|a| a.path == asset.path)
        .map(|i| tags[i].as_str())
        .unwrap_or("\"\"")
}

fn serve(policy: &Policy, path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such console file",
        )
            .into_response();
    };
    let tag = etag(asset);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let h = res.headers_mut();
    // The files change with the binary, not with a versioned name: revalidate every time
    // (cheap, thanks to the ETag) so an upgrade is never half old, half new.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::ETAG, HeaderValue::from_static(tag));
    h.insert(header::CONTENT_SECURITY_POLICY, policy.csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_recordings_allow_the_public_origin_for_media() {
        let m = media_sources("http://10.0.0.5:8080/", "file://./data", None, false);
        assert_eq!(m, ["http://10.0.0.5:8080"]);
        let csp = content_security_policy(&m);
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(
            csp.contains("media-src 'self' http://10.0.0.5:8080;"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self';") && !csp.contains("unsafe"),
            "{csp}"
        );
    }

    #[test]
    fn s3_recordings_allow_the_endpoint_and_its_bucket_hosts() {
        let m = media_sources(
            "https://cp.example.com",
            "s3://rec/calls",
            Some("https://oss-cn-hangzhou.aliyuncs.com"),
            false,
        );
        assert_eq!(
            m,
            [
                "https://cp.example.com",
                "https://*.oss-cn-hangzhou.aliyuncs.com",
                "https://oss-cn-hangzhou.aliyuncs.com"
            ]
        );
        let m = media_sources(
            "http://a:1",
            "s3://rec",
            Some("http://127.0.0.1:9000"),
            true,
        );
        assert_eq!(m, ["http://a:1", "http://127.0.0.1:9000"]);
        let m = media_sources("http://a:1", "s3://rec", None, false);
        assert_eq!(m, ["http://a:1", "https://*.amazonaws.com"]);
    }

    #[test]
    fn every_asset_path_is_unique_and_typed() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(
                ASSETS[i + 1..].iter().all(|b| b.path != a.path),
                "{}",
                a.path
            );
            assert!(!a.body.is_empty(), "{}", a.path);
        }
    }
}
