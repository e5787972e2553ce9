//! HTTP plumbing shared by every route: authentication, rate limits, request parsing, absolute
//! links, and the middleware stack.

pub mod auth;
pub mod extract;
pub mod links;
pub mod middleware;
pub mod ratelimit;
pub mod upload;
