//! Prometheus metrics: HTTP requests by route (the matched pattern, never the raw URI) and
//! status, request latency, the database pool state sampled at scrape time, and directory
//! lookups of unknown users by source and user agent (scanners, HOSTILE_INPUTS X13).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    pub node: String,
    pub state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

/// Which connection cap refused a connection (`max_connections`, `max_connections_per_peer`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CapLabels {
    pub cap: String,
}

/// An xml_curl section (`directory`, `dialplan`, `other`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SectionLabels {
    pub section: String,
}

/// A directory lookup FreeSWITCH made for a user callplane does not know.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectoryMissLabels {
    /// The SIP peer's address (`ip` in the request), or `unknown`.
    pub source: String,
    /// The SIP User-Agent, shortened and reduced to safe characters, or `none`.
    pub user_agent: String,
}

/// Distinct (source, user agent) pairs kept as labels; later ones count under `other`, so a
/// scan from many addresses cannot grow the registry without bound.
pub const DIRECTORY_MISS_LABEL_SETS: usize = 100;

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub db_pool_size: Gauge,
    pub db_pool_idle: Gauge,
    pub db_pool_max: Gauge,
    pub esl_nodes: Family<NodeLabels, Gauge>,
    pub directory_misses: Family<DirectoryMissLabels, Counter>,
    pub connections_refused: Family<CapLabels, Counter>,
    pub xml_curl_late: Family<SectionLabels, Counter>,
    pub webhooks_pending: Gauge,
    pub webhooks_oldest_pending: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub webhooks_failed: Gauge,
    directory_miss_labels: std::sync::Mutex<std::collections::HashSet<DirectoryMissLabels>>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("callplane");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        let (db_pool_size, db_pool_idle, db_pool_max) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            db_pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            db_pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Configured pool size",
            db_pool_max.clone(),
        );
        let esl_nodes = Family::<NodeLabels, Gauge>::default();
        registry.register(
            "esl_node_state",
            "1 for each FreeSWITCH node's current connection state",
            esl_nodes.clone(),
        );
        let directory_misses = Family::<DirectoryMissLabels, Counter>::default();
        registry.register(
            "directory_not_found",
            "Directory lookups of unknown users by SIP source address and user agent",
            directory_misses.clone(),
        );
        let connections_refused = Family::<CapLabels, Counter>::default();
        registry.register(
            "http_connections_refused",
            "HTTP connections closed on accept because a connection cap was reached",
            connections_refused.clone(),
        );
        let xml_curl_late = Family::<SectionLabels, Counter>::default();
        registry.register(
            "xml_curl_deadline_reached",
            "xml_curl answers that reached their deadline (fsapi.xml_curl_timeout_ms less a margin)",
            xml_curl_late.clone(),
        );
        let webhooks_pending = Gauge::default();
        registry.register(
            "webhooks_pending",
            "Webhook events waiting for delivery (sampled at scrape time)",
            webhooks_pending.clone(),
        );
        let webhooks_oldest_pending = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "webhooks_oldest_pending_seconds",
            "Age of the oldest webhook event not delivered yet; 0 when none waits",
            webhooks_oldest_pending.clone(),
        );
        let webhooks_failed = Gauge::default();
        registry.register(
            "webhooks_failed",
            "Webhook events given up on (retry window over, attempt cap or 410 Gone)",
            webhooks_failed.clone(),
        );
        Metrics {
            webhooks_pending,
            webhooks_oldest_pending,
            webhooks_failed,
            xml_curl_late,
            connections_refused,
            directory_misses,
            directory_miss_labels: Default::default(),
            registry,
            requests,
            latency,
            db_pool_size,
            db_pool_idle,
            db_pool_max,
            esl_nodes,
        }
    }

    /// Counts an xml_curl answer of `section` that reached its deadline.
    pub fn xml_curl_deadline_reached(&self, section: &str) {
        self.xml_curl_late
            .get_or_create(&SectionLabels {
                section: section.into(),
            })
            .inc();
    }

    /// Counts a connection closed on accept because of `cap`.
    pub fn connection_refused(&self, cap: &str) {
        self.connections_refused
            .get_or_create(&CapLabels { cap: cap.into() })
            .inc();
    }

    /// Sets `esl_node_state{node, state}` to 1 for each node's current state and 0 for the others,
    /// so a dashboard can graph and alert on `state="connected"`.
    pub fn observe_esl(&self, statuses: &[crate::esl::NodeStatus]) {
        const STATES: [&str; 4] = ["connecting", "connected", "auth_failed", "down"];
        for s in statuses {
            let current = serde_json::to_value(s.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            for state in STATES {
                let labels = NodeLabels {
                    node: s.node.clone(),
                    state: state.to_string(),
                };
                self.esl_nodes
                    .get_or_create(&labels)
                    .set(i64::from(state == current));
            }
        }
    }

    /// Counts a directory lookup of an unknown user (a scanner guessing extensions shows as
    /// one source with many misses, often with a tell-tale user agent such as
    /// `friendly-scanner`). Values come from the request, so they are normalised and the
    /// number of label sets is capped.
    pub fn directory_miss(&self, source: Option<&str>, user_agent: Option<&str>) {
        let source = source
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        let user_agent: String = user_agent
            .unwrap_or("")
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || " ._-/()".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut labels = DirectoryMissLabels {
            source,
            user_agent: if user_agent.trim().is_empty() {
                "none".into()
            } else {
                user_agent
            },
        };
        {
            let mut seen = self
                .directory_miss_labels
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if !seen.contains(&labels) {
                if seen.len() < DIRECTORY_MISS_LABEL_SETS {
                    seen.insert(labels.clone());
                } else {
                    labels = DirectoryMissLabels {
                        source: "other".into(),
                        user_agent: "other".into(),
                    };
                }
            }
        }
        self.directory_misses.get_or_create(&labels).inc();
    }

    /// The registry in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
