//! Cached device counts for the device list. Counting every match of a large enterprise for
//! every page was most of a list request's cost; a count is kept per enterprise and filter and
//! dropped as soon as this node writes devices in a way that may change it. With a count go
//! the ids of the matches when they are few (so a page of a rare match is read by id), or a
//! name filter's exact matches (listed first), as fresh as the count. Writes through
//! other nodes show within [`MAX_AGE`]: after [`FRESH`] one request counts again while the
//! others still get the previous count, so nobody waits on a slow count but that one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::Result;
use crate::devices::DeviceFilter;

/// How long a count is used as it is.
pub const FRESH: Duration = Duration::from_secs(2);
/// The oldest count ever answered (while a request counts again).
pub const MAX_AGE: Duration = Duration::from_secs(4);
/// Distinct (enterprise, filter) counts kept at most.
const MAX_KEYS: usize = 1024;

/// What a write to devices may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DeviceChange {
    /// Columns that filters test (state, brand, names, group, tags, inventory).
    Attributes,
    /// Devices came or went.
    Membership,
}

type Key = (Uuid, DeviceFilter);

/// What is counted for one enterprise and filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Counted {
    pub count: u64,
    /// The ids of every match in list order, when there are few enough to keep.
    pub matches: Option<Arc<[Uuid]>>,
    /// Otherwise, for a name filter: the ids of its exact matches in id order, when there
    /// are few enough to keep (else they are looked up for each page).
    pub exact_names: Option<Arc<[Uuid]>>,
}

impl Counted {
    #[cfg(test)]
    pub(crate) fn of(count: u64) -> Self {
        Self {
            count,
            matches: None,
            exact_names: None,
        }
    }
}

#[derive(Clone)]
struct Entry {
    counted: Counted,
    at: Instant,
    generations: (u64, u64),
}

#[derive(Default)]
struct Slot {
    entry: Mutex<Option<Entry>>,
    /// Held by the request that counts.
    counting: tokio::sync::Mutex<()>,
}

impl Slot {
    fn entry(&self) -> Option<Entry> {
        self.entry.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Most matches whose ids are kept with a filter's count (a page of the filter is then read by
/// id); with more, pages are read in id order from the indexes, and only a name filter's
/// exact matches are kept, if they are this few.
pub(crate) const KEPT_MATCHES: u64 = 1_000;

pub(crate) struct DeviceCounts {
    membership: AtomicU64,
    attributes: AtomicU64,
    slots: Mutex<HashMap<Key, Arc<Slot>>>,
    /// [`KEPT_MATCHES`], lowered by tests to reach the other path with few devices.
    pub(crate) kept_matches: AtomicU64,
}

impl Default for DeviceCounts {
    fn default() -> Self {
        Self {
            membership: AtomicU64::default(),
            attributes: AtomicU64::default(),
            slots: Mutex::default(),
            kept_matches: AtomicU64::new(KEPT_MATCHES),
        }
    }
}

impl DeviceCounts {
    /// Called after a write to devices commits.
    pub(crate) fn changed(&self, change: DeviceChange) {
        if change == DeviceChange::Membership {
            self.membership.fetch_add(1, Ordering::SeqCst);
        }
        self.attributes.fetch_add(1, Ordering::SeqCst);
    }

    /// The generations a count of `filter` depends on: an unfiltered count changes only when
    /// devices come or go.
    fn generations(&self, filter: &DeviceFilter) -> (u64, u64) {
        let membership = self.membership.load(Ordering::SeqCst);
        if *filter == DeviceFilter::default() {
            (membership, 0)
        } else {
            (membership, self.attributes.load(Ordering::SeqCst))
        }
    }

    fn slot(&self, key: Key) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= MAX_KEYS && !slots.contains_key(&key) {
            slots.retain(|_, slot| slot.entry().is_some_and(|e| e.at.elapsed() < MAX_AGE));
            if slots.len() >= MAX_KEYS {
                slots.clear();
            }
        }
        slots.entry(key).or_default().clone()
    }

    /// The cached count, or `count()`'s answer (then cached).
    pub(crate) async fn get_or<F, C>(
        &self,
        enterprise_id: Uuid,
        filter: &DeviceFilter,
        count: F,
    ) -> Result<Counted>
    where
        F: FnOnce() -> C,
        C: Future<Output = Result<Counted>>,
    {
        // Counts over a time window change with every presence sweep: never cached.
        if filter.last_seen_after.is_some() || filter.last_seen_before.is_some() {
            return count().await;
        }
        let slot = self.slot((enterprise_id, filter.clone()));
        let usable = |generations| {
            slot.entry()
                .filter(|e| e.generations == generations && e.at.elapsed() < MAX_AGE)
        };
        let _counting = match usable(self.generations(filter)) {
            Some(e) if e.at.elapsed() < FRESH => return Ok(e.counted),
            // Old: count again unless another request already does.
            Some(e) => match slot.counting.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(e.counted),
            },
            // None, or dropped by a write: wait for a count that follows the write.
            None => slot.counting.lock().await,
        };
        // Read before counting: a write that commits meanwhile makes this count stale at once.
        let generations = self.generations(filter);
        if let Some(e) = usable(generations)
            && e.at.elapsed() < FRESH
        {
            return Ok(e.counted);
        }
        let at = Instant::now();
        let counted = count().await?;
        *slot.entry.lock().unwrap_or_else(|e| e.into_inner()) = Some(Entry {
            counted: counted.clone(),
            at,
            generations,
        });
        Ok(counted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_on_this_node_drops_the_count() {
        let counts = DeviceCounts::default();
        let e = Uuid::now_v7();
        let all = DeviceFilter::default();
        let active = DeviceFilter {
            state: Some(1),
            ..DeviceFilter::default()
        };
        assert_eq!(
            counts
                .get_or(e, &all, || async { Ok(Counted::of(1)) })
                .await
                .unwrap()
                .count,
            1
        );
        assert_eq!(
            counts
                .get_or(e, &active, || async { Ok(Counted::of(1)) })
                .await
                .unwrap()
                .count,
            1
        );
        // Cached.
        assert_eq!(
            counts
                .get_or(e, &all, || async { Ok(Counted::of(2)) })
                .await
                .unwrap()
                .count,
            1
        );
        // A state change leaves the unfiltered count alone.
        counts.changed(DeviceChange::Attributes);
        assert_eq!(
            counts
                .get_or(e, &all, || async { Ok(Counted::of(2)) })
                .await
                .unwrap()
                .count,
            1
        );
        assert_eq!(
            counts
                .get_or(e, &active, || async { Ok(Counted::of(2)) })
                .await
                .unwrap()
                .count,
            2
        );
        // A new device changes both.
        counts.changed(DeviceChange::Membership);
        assert_eq!(
            counts
                .get_or(e, &all, || async { Ok(Counted::of(3)) })
                .await
                .unwrap()
                .count,
            3
        );
        assert_eq!(
            counts
                .get_or(e, &active, || async { Ok(Counted::of(3)) })
                .await
                .unwrap()
                .count,
            3
        );
        // Time windows are never cached.
        let window = DeviceFilter {
            last_seen_after: Some(time::OffsetDateTime::UNIX_EPOCH),
            ..DeviceFilter::default()
        };
        assert_eq!(
            counts
                .get_or(e, &window, || async { Ok(Counted::of(4)) })
                .await
                .unwrap()
                .count,
            4
        );
        assert_eq!(
            counts
                .get_or(e, &window, || async { Ok(Counted::of(5)) })
                .await
                .unwrap()
                .count,
            5
        );
    }

    #[tokio::test]
    async fn old_counts_are_recounted() {
        let counts = DeviceCounts::default();
        let e = Uuid::now_v7();
        let all = DeviceFilter::default();
        counts
            .get_or(e, &all, || async { Ok(Counted::of(1)) })
            .await
            .unwrap();
        let age = |by: Duration| {
            let slot = counts.slot((e, all.clone()));
            if let Some(entry) = slot.entry.lock().unwrap().as_mut() {
                entry.at -= by;
            }
        };
        // Old, nobody else counting: this request counts.
        age(FRESH);
        assert_eq!(
            counts
                .get_or(e, &all, || async { Ok(Counted::of(2)) })
                .await
                .unwrap()
                .count,
            2
        );
        // Old while another request counts: the previous count.
        age(FRESH);
        let slot = counts.slot((e, all.clone()));
        let held = slot.counting.lock().await;
        assert_eq!(
            counts
                .get_or(e, &all, || async { Ok(Counted::of(3)) })
                .await
                .unwrap()
                .count,
            2
        );
        drop(held);
        // Too old to answer: counted again.
        age(MAX_AGE);
        assert_eq!(
            counts
                .get_or(e, &all, || async { Ok(Counted::of(4)) })
                .await
                .unwrap()
                .count,
            4
        );
    }
}
