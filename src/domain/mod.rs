//! Pure types and rules, no I/O. Values from outside are parsed here once, at the edge, into
//! newtypes that later code can trust (an `ExtensionNumber` can go into a dial string, a
//! `GatewayName` into a file name and an XML attribute).

pub mod extension;
pub mod flex;
pub mod gateway;
pub mod number;
pub mod province;
pub mod text;

pub use text::FieldError;
