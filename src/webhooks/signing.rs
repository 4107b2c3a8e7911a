//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256(key, id "." ts
//! "." body)>`, with the key taken from the configured secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "whsec_";

/// The HMAC key. Built once from the configured secret; never printed.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// `whsec_` + base64 is decoded, as Standard Webhooks libraries and Svix issue secrets;
    /// anything else is used as raw text, so an operator can paste a shared password. The
    /// error says what is wrong without echoing the secret.
    pub fn parse(secret: &str) -> Result<SigningKey, String> {
        let key = match secret.strip_prefix(PREFIX) {
            Some(b64) => STANDARD
                .decode(b64)
                .map_err(|_| "a secret starting with whsec_ must continue in base64".to_string())?,
            None => secret.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(SigningKey(key))
    }

    /// The `webhook-signature` header value for one delivery attempt.
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one `v1,...` per key, space-separated as Standard
/// Webhooks allows, so a receiver still holding the previous secret verifies during a
/// rotation. `None` without keys: the request goes out unsigned.
pub fn signature_header(
    keys: &[SigningKey],
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let sigs: Vec<String> = keys
        .iter()
        .map(|k| k.sign(webhook_id, timestamp, body))
        .collect();
    (!sigs.is_empty()).then(|| sigs.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published test vector of the Standard Webhooks reference libraries:
    // standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts,
    // test "sign function works".
    #[test]
    fn signs_the_standard_webhooks_reference_vector_byte_for_byte() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            key.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    // Same repository, libraries/rust/src/lib.rs, test `test_sign`.
    #[test]
    fn signs_the_rust_reference_vector_byte_for_byte() {
        let key = SigningKey::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            key.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_rotation_sends_one_signature_per_key_current_first() {
        let new = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let old = SigningKey::parse("old shared password").unwrap();
        let header = signature_header(&[new.clone(), old.clone()], "msg_1", 7, b"{}").unwrap();
        assert_eq!(
            header,
            format!(
                "{} {}",
                new.sign("msg_1", 7, b"{}"),
                old.sign("msg_1", 7, b"{}")
            )
        );
        assert_eq!(signature_header(&[], "msg_1", 7, b"{}"), None);
    }

    #[test]
    fn a_raw_text_secret_is_used_as_its_bytes() {
        let raw = SigningKey::parse("shared-password").unwrap();
        let same =
            SigningKey::parse(&format!("whsec_{}", STANDARD.encode("shared-password"))).unwrap();
        assert_eq!(raw.sign("m", 1, b"{}"), same.sign("m", 1, b"{}"));
    }

    #[test]
    fn the_signature_changes_with_id_timestamp_and_body() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let base = key.sign("msg_1", 100, b"{}");
        assert_ne!(base, key.sign("msg_2", 100, b"{}"));
        assert_ne!(base, key.sign("msg_1", 101, b"{}"));
        assert_ne!(base, key.sign("msg_1", 100, b"{ }"));
    }

    #[test]
    fn bad_and_empty_secrets_are_refused_without_echoing_them() {
        let e = SigningKey::parse("whsec_not base64!").unwrap_err();
        assert!(!e.contains("not base64!"), "{e}");
        assert!(SigningKey::parse("").is_err());
        assert!(SigningKey::parse("whsec_").is_err());
        assert_eq!(
            format!("{:?}", SigningKey::parse("x").unwrap()),
            "SigningKey(<redacted>)"
        );
    }
}
