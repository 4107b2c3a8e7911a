//! Test harness: spawns the same application `callplane serve` runs, on port 0, with a database
//! created for the test and dropped when the test ends.

use std::net::SocketAddr;

use callplane::config::{Config, DbUrl};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

/// Server URL without a database; override with CALLPLANE_TEST_PG.
pub fn pg_base() -> String {
    std::env::var("CALLPLANE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub db_name: String,
    pub client: reqwest::Client,
    pub api_key: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Recordings and spool of this test.
    pub files: std::path::PathBuf,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns the app after `adjust` has changed the test configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db_name = format!("callplane_test_{}", uuid::Uuid::new_v4().simple());
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: DbUrl::new(format!("{}/{db_name}", pg_base())),
            ..Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.public_url = Some(format!("http://{addr}"));
        // Recordings and the spool go to a directory of the test's own, removed on drop.
        let files =
            std::env::temp_dir().join(format!("callplane-test-{}", uuid::Uuid::new_v4().simple()));
        config.storage.url = format!("file://{}", files.join("recordings").display());
        config.storage.spool_dir = files.join("spool").display().to_string();
        adjust(&mut config);
        config.validate().expect("test configuration is valid");
        let url = config.database_url.expose().to_string();
        assert!(
            callplane::store::create_database_if_missing(&url)
                .await
                .unwrap(),
            "fresh database created"
        );
        let pool = callplane::store::connect(&url, &config.database)
            .await
            .unwrap();
        callplane::store::migrate(&pool).await.unwrap();
        let api_key = config.api.keys.first().map(|k| k.expose().to_string());
        let app = callplane::app::build(config, pool.clone()).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            pool,
            db_name,
            client: reqwest::Client::new(),
            api_key,
            shutdown: Some(tx),
            files,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(k) => rb.bearer_auth(k),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.authed(self.client.get(self.url(path)))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        read(
            self.authed(self.client.post(self.url(path)))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts an `application/x-www-form-urlencoded` body.
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let rb = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        read(self.authed(rb).send().await.unwrap()).await
    }

    /// Posts raw bytes with the given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let rb = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        read(self.authed(rb).send().await.unwrap()).await
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// Reads a response as JSON and checks it has the contract's envelope.
pub async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    assert!(v["code"].is_u64(), "envelope has a numeric code: {v}");
    assert!(v["message"].is_string(), "envelope has a message: {v}");
    assert!(v.get("data").is_some(), "envelope has data: {v}");
    assert_eq!(
        v["code"] == 0,
        status.is_success(),
        "code 0 exactly on success: {status} {v}"
    );
    (status, v)
}

/// Asserts a 400 whose message names `field`.
pub fn assert_invalid(res: &(StatusCode, Value), field: &str) {
    assert_eq!(res.0, StatusCode::BAD_REQUEST, "{}", res.1);
    let msg = res.1["message"].as_str().unwrap();
    assert!(msg.contains(field), "message names {field}: {msg}");
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        drop_database(&self.db_name);
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

/// Drops a test database, from any context (Drop runs inside the test's runtime, so the async
/// cleanup runs on a thread of its own).
pub fn drop_database(name: &str) {
    let db = name.to_string();
    {
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) =
                    sqlx::PgConnection::connect(&format!("{}/postgres", pg_base())).await
                {
                    let sql = format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                }
            });
        })
        .join()
        .ok();
    }
}
