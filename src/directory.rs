//! Directory rules behind `POST /fsapi/xml_curl` `section=directory`: which stored extension a
//! FreeSWITCH user lookup means, and the digest hash it is answered with. The HTTP handler
//! parses the request and renders the answer (`fsxml::directory`); SQL stays in `store`.
//!
//! Rules:
//! - Only enabled extensions with a password are ever answered. mod_sofia's
//!   `sofia_reg_parse_auth` (sofia_reg.c) lets a user with neither `password` nor `a1-hash`
//!   through with *any* credentials, so a password-less extension is "not found", for every
//!   action, not a document without a credential.
//! - Domains: an extension stored with a domain matches only that domain (case-insensitive);
//!   one stored without a domain matches the configured `domain`, or any domain when it is `*`.
//! - The user and domain must look like an extension number and a host before any query runs:
//!   SQL-ish text, NULs, 10 KB names and look-alike Unicode digits are "not found" at once.
//! - While the database is unreachable, users found before are answered from a last-known-good
//!   [`DirectoryCache`], which answers from memory while Postgres change notifications keep it
//!   consistent across replicas, and keeps registered phones re-registering through an outage.

use std::collections::HashMap;
use std::sync::Mutex;

use md5::{Digest, Md5};
use sqlx::PgPool;

use crate::domain::text::{check_host, check_token};
use crate::store::StoreError;
use crate::store::extensions::{self, ExtensionRow};

/// The dialplan context every extension's calls are routed in (the `user_context` variable the
/// directory hands out; mod_sofia puts authenticated calls there).
pub const EXTENSION_CONTEXT: &str = "default";

/// The actions FreeSWITCH sends with a user lookup that callplane answers. Others (e.g.
/// `group_call`, which wants `<groups>` callplane does not keep) are "not found".
pub const USER_ACTIONS: &[&str] = &[
    "sip_auth",
    "user_call",
    "message-count",
    "reverse-auth-lookup",
    "voicemail-lookup",
];

/// The SIP digest A1 hash as mod_sofia compares it: md5 of `user:realm:password`, lower-case
/// hex (`sofia_reg_parse_auth` hashes `username:realm:passwd` itself when it gets a plain
/// `password`, so an `a1-hash` must be computed over the same realm the phone answers).
pub fn a1_hash(user: &str, realm: &str, password: &str) -> String {
    let digest = Md5::digest(format!("{user}:{realm}:{password}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether an extension stored without a domain belongs to `requested`.
pub fn default_domain_matches(config_domain: &str, requested: &str) -> bool {
    config_domain == "*" || config_domain.eq_ignore_ascii_case(requested)
}

/// True when `user` and `domain` can name an extension at all (checked before any query).
pub fn plausible(user: &str, domain: &str) -> bool {
    check_token("user", user, 32).is_ok() && check_host("domain", domain).is_ok()
}

/// The enabled, password-holding extension FreeSWITCH means by `user@domain`, if any.
pub async fn find_user(
    pool: &PgPool,
    config_domain: &str,
    user: &str,
    domain: &str,
) -> Result<Option<ExtensionRow>, StoreError> {
    if !plausible(user, domain) {
        return Ok(None);
    }
    let matches_default = default_domain_matches(config_domain, domain);
    let row = extensions::find_for_domain(pool, user, domain, matches_default).await?;
    Ok(row.filter(|r| r.enabled && r.password.as_deref().is_some_and(|p| !p.is_empty())))
}

/// Directory answers in memory, by (user, lower-cased domain). While the change listener
/// (`run_invalidation`) is connected, a remembered user is answered without asking the
/// database: every change to `extensions`, made by any replica, empties the cache through
/// Postgres NOTIFY. While the listener is down the database is asked every time, and what it
/// answered last is kept for a database outage. A lookup that finds nothing removes the entry.
/// Bounded: past `capacity` entries new users are not remembered.
#[derive(Debug)]
pub struct DirectoryCache {
    entries: Mutex<HashMap<(String, String), ExtensionRow>>,
    capacity: usize,
    /// True while change notifications are known to arrive.
    trusted: std::sync::atomic::AtomicBool,
}

impl DirectoryCache {
    pub fn new(capacity: usize) -> Self {
        DirectoryCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
            trusted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn key(user: &str, domain: &str) -> (String, String) {
        (user.to_string(), domain.to_ascii_lowercase())
    }

    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Whether remembered answers are served without the database.
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(std::sync::atomic::Ordering::Acquire)
    }

    /// [`find_user`] from memory when trusted, else from the database (remembering what it
    /// finds, and falling back to the remembered answer when the database fails).
    /// The database gets `deadline`: past it the lookup counts as failed (the remembered user,
    /// or the error), so FreeSWITCH has its answer before its own timeout.
    pub async fn find_user(
        &self,
        pool: &PgPool,
        config_domain: &str,
        user: &str,
        domain: &str,
        deadline: std::time::Duration,
    ) -> Result<Option<ExtensionRow>, StoreError> {
        if self.is_trusted()
            && let Some(row) = self
                .entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&Self::key(user, domain))
        {
            return Ok(Some(row.clone()));
        }
        let found = tokio::time::timeout(deadline, find_user(pool, config_domain, user, domain))
            .await
            .unwrap_or(Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)));
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match &found {
            Ok(Some(row)) => {
                if entries.len() < self.capacity || entries.contains_key(&Self::key(user, domain)) {
                    entries.insert(Self::key(user, domain), row.clone());
                }
            }
            Ok(None) => {
                entries.remove(&Self::key(user, domain));
            }
            Err(e) => {
                if let Some(row) = entries.get(&Self::key(user, domain)) {
                    tracing::warn!(error = %e, "directory lookup failed; answering the last known user");
                    return Ok(Some(row.clone()));
                }
            }
        }
        found
    }

    /// Listens for `callplane_directory` notifications and empties the cache on each; trusts
    /// the cache only while listening. Reconnects with a pause after errors; ends on `stop`.
    pub async fn run_invalidation(
        self: std::sync::Arc<Self>,
        pool: PgPool,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        use std::sync::atomic::Ordering;
        loop {
            let listener = async {
                let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
                l.listen("callplane_directory").await?;
                Ok::<_, sqlx::Error>(l)
            };
            match listener.await {
                Ok(mut l) => {
                    // Changes made before LISTEN took effect are unknown: start empty.
                    self.clear();
                    self.trusted.store(true, Ordering::Release);
                    loop {
                        tokio::select! {
                            n = l.try_recv() => match n {
                                Ok(Some(_)) => self.clear(),
                                // Connection lost: notifications may have been missed.
                                Ok(None) | Err(_) => break,
                            },
                            _ = stop.changed() => return,
                        }
                    }
                    // Entries stay, but only as last-known-good answers for a database outage.
                    self.trusted.store(false, Ordering::Release);
                    tracing::warn!(
                        "directory change listener lost; asking the database until it is back"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "directory change listener unavailable"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// The realm to hash with: the digest realm the phone answered (`sip_auth_realm`) when it is a
/// host name, else the domain FreeSWITCH asked for.
pub fn digest_realm<'a>(sip_auth_realm: Option<&'a str>, domain: &'a str) -> &'a str {
    match sip_auth_realm {
        Some(r) if check_host("realm", r).is_ok() => r,
        _ => domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_hash_is_md5_of_user_realm_password() {
        // RFC 2617 section 3.5's example: Mufasa:testrealm@host.com:Circle Of Life.
        assert_eq!(
            a1_hash("Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9"
        );
    }

    #[test]
    fn default_domain_rules() {
        assert!(default_domain_matches("*", "anything.example"));
        assert!(default_domain_matches("pbx.example", "PBX.example"));
        assert!(!default_domain_matches("pbx.example", "other.example"));
    }

    #[test]
    fn implausible_users_are_refused_before_any_query() {
        for user in [
            "1000' OR '1'='1",
            "1000\0",
            "１０００",
            "",
            &"9".repeat(10_000),
        ] {
            assert!(!plausible(user, "example.com"), "{user:?}");
        }
        assert!(plausible("1000", "10.10.10.25"));
        assert!(!plausible("1000", "a b"));
    }

    #[test]
    fn realm_falls_back_to_the_domain() {
        assert_eq!(
            digest_realm(Some("realm.example"), "d.example"),
            "realm.example"
        );
        assert_eq!(digest_realm(Some("bad realm"), "d.example"), "d.example");
        assert_eq!(digest_realm(None, "d.example"), "d.example");
    }
}
