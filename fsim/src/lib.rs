//! fsim: a FreeSWITCH simulator. Filled in by the ESL work; this crate exists so the workspace
//! layout is fixed from the start.
