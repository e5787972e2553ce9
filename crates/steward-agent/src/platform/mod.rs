//! What a device is and how it is doing: the facts the agent reports.
//!
//! `linux` reads them from a real Linux system; `simulated` makes up plausible, varied ones for
//! load tests. Both answer the same questions, so the rest of the agent does not care which.

pub mod linux;
pub mod simulated;

use steward_proto::agent::{InstalledApp, Inventory, Telemetry};

/// The source of a device's reports. Calls may block on file reads; the agent calls them off
/// its async threads.
pub trait Platform: Send + Sync + 'static {
    /// Hardware, software, network, memory and displays.
    fn inventory(&self) -> Inventory;
    /// Installed packages.
    fn apps(&self) -> Vec<InstalledApp>;
    /// A current reading. CPU use is measured since the previous call.
    fn telemetry(&self) -> Telemetry;
    /// Whether the calls are cheap enough to run on the async threads (simulated devices).
    fn is_cheap(&self) -> bool {
        false
    }
    /// Records an install or removal that a simulated device carried out, so that `apps`
    /// shows it. Real devices read their package database instead and ignore this.
    fn apply_simulated_change(&self, _change: PackageChange) {}
}

/// An install (or upgrade) or a removal of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageChange {
    Installed(InstalledApp),
    Removed { package_name: String },
}
