//! What routing needs to know right now about lines, gathered from every FreeSWITCH node: the
//! live channels on each gateway (for `max_concurrent`) and whether a gateway is down on every
//! node. Shared by the request path and the event consumer; in memory, rebuilt from events and
//! reconciled from `show channels` after a reconnect.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Live channels per gateway, keyed by channel UUID, with the node each runs on.
#[derive(Debug, Default)]
pub struct LiveCalls {
    channels: Mutex<HashMap<String, (String, String)>>,
}

impl LiveCalls {
    /// A channel on `gateway` exists (or is about to: callplane adds the first leg of a chain
    /// when it sends the originate, so two requests in a row see each other).
    pub fn add(&self, node: &str, channel: &str, gateway: &str) {
        let mut m = self.channels.lock().expect("live calls lock");
        m.insert(channel.to_string(), (node.to_string(), gateway.to_string()));
    }

    pub fn remove(&self, channel: &str) {
        self.channels
            .lock()
            .expect("live calls lock")
            .remove(channel);
    }

    pub fn count(&self, gateway: &str) -> u32 {
        let m = self.channels.lock().expect("live calls lock");
        m.values().filter(|(_, g)| g == gateway).count() as u32
    }

    /// Channels per node, for choosing the least busy node.
    pub fn per_node(&self, node: &str) -> u32 {
        let m = self.channels.lock().expect("live calls lock");
        m.values().filter(|(n, _)| n == node).count() as u32
    }

    /// After a reconnect: forgets the channels of `node` that the node no longer has.
    pub fn reconcile(&self, node: &str, present: &HashSet<String>) -> usize {
        let mut m = self.channels.lock().expect("live calls lock");
        let before = m.len();
        m.retain(|uuid, (n, _)| n != node || present.contains(uuid));
        before - m.len()
    }
}

/// Gateway reachability (`UP`/`DOWN`) per node, from `sofia xmlstatus gateway`.
#[derive(Debug, Default)]
pub struct GatewayHealth {
    status: Mutex<HashMap<(String, String), bool>>,
}

impl GatewayHealth {
    pub fn set(&self, node: &str, gateway: &str, up: bool) {
        self.status
            .lock()
            .expect("health lock")
            .insert((node.to_string(), gateway.to_string()), up);
    }

    /// Replaces everything known about `node`.
    pub fn replace_node(&self, node: &str, gateways: impl IntoIterator<Item = (String, bool)>) {
        let mut m = self.status.lock().expect("health lock");
        m.retain(|(n, _), _| n != node);
        for (gw, up) in gateways {
            m.insert((node.to_string(), gw), up);
        }
    }

    /// True only when every connected node reports the gateway DOWN. A gateway nobody has
    /// reported on is not known to be down, so it stays routable.
    pub fn down_everywhere(&self, gateway: &str, connected: &[String]) -> bool {
        let m = self.status.lock().expect("health lock");
        let reports: Vec<bool> = connected
            .iter()
            .filter_map(|n| m.get(&(n.clone(), gateway.to_string())).copied())
            .collect();
        !reports.is_empty() && reports.len() == connected.len() && reports.iter().all(|up| !up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_counts_by_gateway_and_reconciles_per_node() {
        let l = LiveCalls::default();
        l.add("n1", "a", "gw1");
        l.add("n1", "b", "gw1");
        l.add("n2", "c", "gw1");
        l.add("n2", "d", "gw2");
        assert_eq!((l.count("gw1"), l.count("gw2"), l.count("gw3")), (3, 1, 0));
        l.remove("a");
        assert_eq!(l.count("gw1"), 2);
        let present: HashSet<String> = ["d".to_string()].into();
        assert_eq!(l.reconcile("n2", &present), 1, "c is gone from n2");
        assert_eq!(
            (l.count("gw1"), l.per_node("n1"), l.per_node("n2")),
            (1, 1, 1)
        );
    }

    #[test]
    fn a_gateway_is_down_only_when_every_connected_node_says_so() {
        let h = GatewayHealth::default();
        let nodes = vec!["n1".to_string(), "n2".to_string()];
        assert!(!h.down_everywhere("gw", &nodes), "unknown is not down");
        h.set("n1", "gw", false);
        assert!(!h.down_everywhere("gw", &nodes), "n2 has not reported");
        h.set("n2", "gw", true);
        assert!(!h.down_everywhere("gw", &nodes));
        h.set("n2", "gw", false);
        assert!(h.down_everywhere("gw", &nodes));
        h.replace_node("n2", [("gw".to_string(), true)]);
        assert!(!h.down_everywhere("gw", &nodes));
    }
}
