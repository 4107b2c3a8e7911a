//! Credentials callplane mints with its server secret: the per-call upload token that the
//! originate's hangup hook carries (`/fsapi/upload_audio?uuid=..&token=..`), and signatures for
//! expiring links. HMAC-SHA256, compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, purpose: &str, message: &str) -> HmacSha256 {
    let mut m =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    // The purpose keeps a token minted for one use from being valid for another.
    m.update(purpose.as_bytes());
    m.update(b"\n");
    m.update(message.as_bytes());
    m
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Signs `message` for `purpose`: lowercase hex, safe in a URL and in a dial string.
pub fn sign(secret: &str, purpose: &str, message: &str) -> String {
    hex(&mac(secret, purpose, message).finalize().into_bytes())
}

/// Checks a signature made by [`sign`], in constant time.
pub fn verify(secret: &str, purpose: &str, message: &str, signature: &str) -> bool {
    match unhex(signature) {
        Some(bytes) => mac(secret, purpose, message).verify_slice(&bytes).is_ok(),
        None => false,
    }
}

/// The upload token for one call's recording.
pub fn upload_token(secret: &str, call_uuid: &uuid::Uuid) -> String {
    sign(secret, "upload", &call_uuid.to_string())
}

pub fn verify_upload_token(secret: &str, call_uuid: &uuid::Uuid, token: &str) -> bool {
    verify(secret, "upload", &call_uuid.to_string(), token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_tokens_are_per_uuid_and_per_secret() {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let t = upload_token("secret-one-0123456789", &a);
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(verify_upload_token("secret-one-0123456789", &a, &t));
        assert!(
            !verify_upload_token("secret-one-0123456789", &b, &t),
            "valid for that uuid only"
        );
        assert!(
            !verify_upload_token("secret-two-0123456789", &a, &t),
            "bound to the secret"
        );
        assert!(!verify_upload_token("secret-one-0123456789", &a, &t[..62]));
        assert!(!verify_upload_token("secret-one-0123456789", &a, "zz"));
        assert!(!verify_upload_token("secret-one-0123456789", &a, ""));
    }

    #[test]
    fn purposes_do_not_mix() {
        let s = sign("k-0123456789abcdef", "upload", "x");
        assert!(!verify("k-0123456789abcdef", "recording", "x", &s));
        assert!(verify("k-0123456789abcdef", "upload", "x", &s));
    }
}
