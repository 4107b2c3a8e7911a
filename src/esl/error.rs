//! The one error type of the ESL client, and whether a failure is worth retrying.
//!
//! Callers (the HTTP layer, the call lifecycle) decide between "503, try again" and "400/500, do
//! not retry" from [`EslError::is_retryable`] alone, without matching on variants.

use thiserror::Error;

/// Everything that can go wrong talking to one FreeSWITCH node.
#[derive(Debug, Clone, Error)]
pub enum EslError {
    /// The TCP connection could not be opened (refused, unreachable, DNS, timeout).
    #[error("cannot connect to {node}: {reason}")]
    Connect { node: String, reason: String },

    /// FreeSWITCH answered `auth` with `-ERR invalid`; it closes the socket right after.
    #[error("ESL authentication failed: {0}")]
    AuthFailed(String),

    /// `text/rude-rejection`: the node's `apply-inbound-acl` refused our address before any
    /// `auth/request` was sent (mod_event_socket checks the ACL first).
    #[error("ESL connection rejected by the node's ACL: {0}")]
    Rejected(String),

    /// The connection ended while a command or background job was still waiting for its answer.
    /// The command may or may not have run on the node.
    #[error("ESL connection lost: {0}")]
    ConnectionLost(String),

    /// No live connection to the node (not connected yet, reconnecting, or shut down).
    #[error("ESL node not connected")]
    NotConnected,

    /// The node answered with `-ERR ...` (command/reply `Reply-Text` or an api/response body).
    #[error("FreeSWITCH refused the command: {0}")]
    CommandFailed(String),

    /// A command argument we refuse to put on the wire (CR/LF, empty command, ...).
    #[error("invalid ESL command argument: {0}")]
    InvalidArgument(String),

    /// The peer sent bytes that are not ESL. The connection is dropped and rebuilt.
    #[error("ESL protocol error: {0}")]
    Protocol(String),

    /// Nothing arrived for longer than the idle limit (half-open TCP, hung node).
    #[error("ESL connection idle for {0:?}, assuming it is dead")]
    Idle(std::time::Duration),

    /// The connection was closed on our side (`exit`, shutdown, every handle dropped).
    #[error("ESL connection closed")]
    Closed,
}

impl EslError {
    /// True when the same request may succeed later against the same or another node:
    /// transport failures and disconnects. False for answers that will not change by
    /// retrying: bad credentials, ACL rejection, `-ERR` replies, invalid arguments.
    pub fn is_retryable(&self) -> bool {
        match self {
            EslError::Connect { .. }
            | EslError::ConnectionLost(_)
            | EslError::NotConnected
            | EslError::Protocol(_)
            | EslError::Idle(_) => true,
            EslError::AuthFailed(_)
            | EslError::Rejected(_)
            | EslError::CommandFailed(_)
            | EslError::InvalidArgument(_)
            | EslError::Closed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_retryable_and_refusals_are_not() {
        assert!(EslError::ConnectionLost("reset".into()).is_retryable());
        assert!(EslError::NotConnected.is_retryable());
        assert!(!EslError::AuthFailed("-ERR invalid".into()).is_retryable());
        assert!(!EslError::CommandFailed("-ERR no such channel".into()).is_retryable());
        assert!(!EslError::InvalidArgument("newline".into()).is_retryable());
    }

    #[test]
    fn lost_connection_message_says_the_connection_was_lost() {
        let msg = EslError::ConnectionLost("closed by peer".into()).to_string();
        assert!(msg.contains("connection lost"), "{msg}");
    }
}
