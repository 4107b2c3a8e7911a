//! The call lifecycle: a click-to-call request becomes a routed, recorded originate
//! (`place`); ESL events and job results move the call through its states (`events`); a
//! sweeper ends calls that FreeSWITCH never reports on (`sweeper`). Line state for routing
//! (live channels, gateway reachability) lives in `live`.

pub mod complete;
pub mod dialplan;
pub mod events;
mod job;
mod lines;
pub mod live;
pub mod outcome;
pub mod place;
pub mod report;
mod setup;
pub mod sweeper;

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::{Config, Secret};
use crate::esl::SupervisorHandle;
use live::{GatewayHealth, LiveCalls};

/// Everything the call flows share; cheap to clone.
#[derive(Clone)]
pub struct Calls {
    pub pool: PgPool,
    pub esl: SupervisorHandle,
    pub config: Arc<Config>,
    pub secret: Secret,
    pub live: Arc<LiveCalls>,
    pub health: Arc<GatewayHealth>,
    /// Where recordings are; None only in tools that place no calls.
    pub storage: Option<crate::storage::Storage>,
    /// Serialises routing decisions within this replica, so two requests cannot both take a
    /// line's last free channel. Across replicas the routing transaction takes a database lock
    /// and counts the legs other replicas committed (`place::route`); the daily limit is a
    /// conditional upsert in the database.
    pub routing_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Calls {
    pub fn new(
        pool: PgPool,
        esl: SupervisorHandle,
        config: Arc<Config>,
        secret: Secret,
        storage: Option<crate::storage::Storage>,
    ) -> Self {
        Calls {
            pool,
            esl,
            config,
            secret,
            storage,
            live: Arc::default(),
            health: Arc::default(),
            routing_lock: Arc::default(),
        }
    }

    /// Starts the event consumer, the sweeper and the gateway poller; they stop when `stop`
    /// turns true.
    pub fn start_tasks(&self, stop: tokio::sync::watch::Receiver<bool>) {
        tokio::spawn(events::run(self.clone(), stop.clone()));
        // Build the landline area-code map now rather than on the first landline callee.
        tokio::task::spawn_blocking(|| crate::numbers::PhoneData::embedded().lookup("01000000000"));
        tokio::spawn(sweeper::run(self.clone(), stop));
    }
}
