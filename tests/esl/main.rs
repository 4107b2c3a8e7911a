//! ESL client integration tests.
