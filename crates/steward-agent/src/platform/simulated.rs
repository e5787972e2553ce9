//! Simulated facts.
