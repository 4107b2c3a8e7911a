//! Bearer-key authentication for `/v1`. Keys are compared in constant time over their SHA-256
//! digests, so neither content nor length leaks through timing; keys never reach the logs.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;

/// Digests of the configured keys; empty means `/v1` is open (allowed only on loopback).
#[derive(Clone, Default)]
pub struct ApiKeys(Vec<[u8; 32]>);

impl ApiKeys {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        ApiKeys(
            keys.into_iter()
                .map(|k| Sha256::digest(k.as_bytes()).into())
                .collect(),
        )
    }

    fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Check every key so the time taken does not depend on which one matched.
        self.0
            .iter()
            .fold(0u8, |hit, k| hit | k.ct_eq(&digest).unwrap_u8())
            == 1
    }
}

pub async fn require_key(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.api_keys.0.is_empty() {
        return Ok(next.run(req).await);
    }
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match presented {
        Some(key) if state.api_keys.accepts(key) => Ok(next.run(req).await),
        _ => Err(ApiError::Unauthorized),
    }
}

/// The credentials of a `Bearer` authorization header. The scheme name is case-insensitive
/// (RFC 7235 section 2.1), so `bearer` and `BEARER` are the same scheme.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in ["Bearer k-1", "bearer k-1", "BEARER   k-1 ", "bEaReR k-1"] {
            assert_eq!(bearer_token(header), Some("k-1"), "{header:?}");
        }
        for header in ["Basic k-1", "Bearer", "Bearer ", "Bearerk-1", "Token k-1"] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }

    #[test]
    fn accepts_only_configured_keys() {
        let keys = ApiKeys::new(["first-key-0123456789", "second-key-0123456789"]);
        assert!(keys.accepts("first-key-0123456789"));
        assert!(keys.accepts("second-key-0123456789"));
        assert!(!keys.accepts("first-key-012345678"));
        assert!(!keys.accepts(""));
    }
}
