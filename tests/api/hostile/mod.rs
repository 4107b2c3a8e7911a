//! The hostile-input suite (docs/hostile-inputs.md maps every row to its tests): inputs an
//! attacker or a confused client sends, and what a flaky network does, each asserting the
//! answer and that nothing happened beyond it.

mod callback;
mod deadlines;
mod limits;
mod nul;
mod props;
mod rig;
mod scanners;
mod slow_clients;
