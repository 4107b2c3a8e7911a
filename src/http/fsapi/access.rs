//! Who may call `/fsapi`. Two layers, so each route picks what fits its callers:
//! - `require_allowed_peer`: the optional CIDR allow-list (`fsapi.allow`) only. For routes that
//!   carry their own credential, like the recording upload's per-call token.
//! - `require_basic`: the allow-list, then HTTP Basic with `fsapi.user`/`fsapi.password`, which
//!   is what mod_xml_curl's `gateway-credentials` and mod_xml_cdr's `cred` send. Without
//!   configured credentials only loopback peers pass.
//!
//! Credentials are compared in constant time over their SHA-256 digests. Rejections are logged
//! with the peer address and the reason, never with what was presented.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::FsapiError;
use crate::config::FsapiConfig;
use crate::net::Cidr;

/// The access rules, built once from the configuration.
#[derive(Clone)]
pub struct Access {
    allow: Arc<[Cidr]>,
    basic: Option<Arc<Credentials>>,
}

struct Credentials {
    user: [u8; 32],
    password: [u8; 32],
}

fn digest(s: &[u8]) -> [u8; 32] {
    Sha256::digest(s).into()
}

impl Access {
    /// `validate` has already checked the allow-list entries; an unparsable one would be
    /// skipped here, never widen access.
    pub fn from_config(c: &FsapiConfig) -> Access {
        let allow: Vec<Cidr> = c.allow.iter().filter_map(|s| s.parse().ok()).collect();
        let basic = match (&c.user, &c.password) {
            (Some(u), Some(p)) => Some(Arc::new(Credentials {
                user: digest(u.as_bytes()),
                password: digest(p.expose().as_bytes()),
            })),
            _ => None,
        };
        Access {
            allow: allow.into(),
            basic,
        }
    }

    /// An empty allow-list allows every peer.
    pub fn peer_allowed(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|c| c.contains(ip))
    }

    /// Whether an `Authorization` header value carries the configured credentials.
    fn basic_ok(&self, creds: &Credentials, header: Option<&str>) -> bool {
        let Some(value) = header else {
            return false;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token.trim()) else {
            return false;
        };
        let (user, password) = match decoded.iter().position(|b| *b == b':') {
            Some(i) => (&decoded[..i], &decoded[i + 1..]),
            None => (&decoded[..], &b""[..]),
        };
        // Both compared every time: the time taken says nothing about which one was wrong.
        let u = creds.user.ct_eq(&digest(user));
        let p = creds.password.ct_eq(&digest(password));
        (u & p).into()
    }
}

/// The peer address from the server's connect info; None when the server was started without
/// it, in which case every check fails closed.
fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        IpAddr::V4(v4) => v4.is_loopback(),
    }
}

fn reject(req: &Request, peer: Option<IpAddr>, why: &str, e: FsapiError) -> FsapiError {
    let peer = peer
        .map(|p| p.to_string())
        .unwrap_or_else(|| "unknown".into());
    tracing::warn!(%peer, path = %req.uri().path(), status = e.status().as_u16(), "fsapi request rejected: {why}");
    e
}

/// The allow-list alone.
pub async fn require_allowed_peer(
    State(access): State<Access>,
    req: Request,
    next: Next,
) -> Result<Response, FsapiError> {
    match peer(&req) {
        Some(ip) if access.peer_allowed(ip) => Ok(next.run(req).await),
        p => Err(reject(
            &req,
            p,
            "peer not in fsapi.allow",
            FsapiError::Forbidden,
        )),
    }
}

/// The allow-list, then HTTP Basic (or loopback only when no credentials are configured).
pub async fn require_basic(
    State(access): State<Access>,
    req: Request,
    next: Next,
) -> Result<Response, FsapiError> {
    let p = peer(&req);
    let Some(ip) = p.filter(|ip| access.peer_allowed(*ip)) else {
        return Err(reject(
            &req,
            p,
            "peer not in fsapi.allow",
            FsapiError::Forbidden,
        ));
    };
    match &access.basic {
        Some(creds) => {
            let header = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if access.basic_ok(creds, header) {
                Ok(next.run(req).await)
            } else {
                let why = if header.is_some() {
                    "wrong credentials"
                } else {
                    "no credentials"
                };
                Err(reject(&req, p, why, FsapiError::Unauthorized))
            }
        }
        None if is_loopback(ip) => Ok(next.run(req).await),
        None => Err(reject(
            &req,
            p,
            "no fsapi credentials are configured, so only loopback peers are served",
            FsapiError::Forbidden,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn access(allow: &[&str]) -> Access {
        Access::from_config(&FsapiConfig {
            user: Some("fs".into()),
            password: Some(Secret::new("s3cret:with:colons")),
            allow: allow.iter().map(|s| s.to_string()).collect(),
            ..FsapiConfig::default()
        })
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[test]
    fn basic_credentials_must_match_exactly() {
        let a = access(&[]);
        let c = a.basic.clone().unwrap();
        assert!(a.basic_ok(&c, Some(&basic("fs:s3cret:with:colons"))));
        assert!(a.basic_ok(
            &c,
            Some(&basic("fs:s3cret:with:colons").replace("Basic", "basic"))
        ));
        assert!(!a.basic_ok(&c, Some(&basic("fs:s3cret"))));
        assert!(!a.basic_ok(&c, Some(&basic("FS:s3cret:with:colons"))));
        assert!(!a.basic_ok(&c, Some("Bearer fs:s3cret:with:colons")));
        assert!(!a.basic_ok(&c, Some("Basic !!!")));
        assert!(!a.basic_ok(&c, None));
    }

    #[test]
    fn allow_list_empty_means_everyone_and_mapped_addresses_count() {
        assert!(access(&[]).peer_allowed("203.0.113.9".parse().unwrap()));
        let a = access(&["10.0.0.0/8"]);
        assert!(a.peer_allowed("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!a.peer_allowed("127.0.0.1".parse().unwrap()));
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("10.0.0.1".parse().unwrap()));
    }
}
