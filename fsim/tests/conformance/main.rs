//! Conformance tests: a simulator on 127.0.0.1:0 driven over real TCP and compared with the
//! captures in the repository's tests/fixtures directory.

mod calls;
mod channel_data;
mod client;
mod limits;
mod load;
mod posts;
mod protocol;
mod real_shapes;
mod status;
