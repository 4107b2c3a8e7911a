//! Calls: parsing `originate`, placing and ringing legs against scripted outcomes, running the
//! answered leg's applications (bridge, set, hangup, sleep, park...), and the event sequence
//! both legs emit until their CDRs are posted.

pub mod bridge;
pub mod dial;
pub mod hangup;
pub mod leg;
pub mod media;
pub mod ring;
pub mod run;

pub use run::originate;
