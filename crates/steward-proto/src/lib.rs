//! Wire types shared by the Steward server, its clients and (later) the agent.
//!
//! Every type here is a JSON shape of Esper's public API or a Steward extension. Field names and
//! nullability follow what esperclient 0.1.3 and espercli 0.0.17 parse: absent optional values
//! are `null`, never empty strings, because the SDK validates lengths of non-null strings.

pub mod agent;
pub mod application;
pub mod command;
pub mod content;
pub mod custom_action;
pub mod device;
pub mod enterprise;
pub mod error;
pub mod group;
pub mod page;
pub mod pyrepr;
pub mod token;

pub use error::ErrorBody;
pub use page::Page;

/// Timestamps on the wire: RFC 3339 in UTC, e.g. `2019-08-29T11:06:03.123456Z`.
pub type Timestamp = time::OffsetDateTime;
