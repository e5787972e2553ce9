//! Linux facts.
