//! ESL client tests: every capture parsed, property-style parser tests, and the connection and
//! supervisor over real TCP against a scripted in-test ESL server.

mod connection;
mod fixtures;
mod fuzz;
mod server;
mod supervisor;
