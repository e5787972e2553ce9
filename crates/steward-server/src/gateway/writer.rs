//! The report writer: sessions queue their devices' reports here, and one task writes them in
//! batches, in arrival order. A full queue makes sessions wait (back-pressure), so memory stays
//! bounded however fast a fleet talks.

use std::time::Duration;

use steward_store::Store;
use steward_store::reports::DeviceReport;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Reports waiting to be written.
pub const QUEUE: usize = 20_000;
/// Most reports in one transaction.
pub const BATCH: usize = 500;

#[derive(Clone)]
pub struct ReportQueue {
    sender: mpsc::Sender<DeviceReport>,
}

impl ReportQueue {
    /// Queues a report; waits while the queue is full. False once the writer has stopped.
    pub async fn push(&self, report: DeviceReport) -> bool {
        self.sender.send(report).await.is_ok()
    }
}

pub fn report_queue() -> (ReportQueue, mpsc::Receiver<DeviceReport>) {
    let (sender, receiver) = mpsc::channel(QUEUE);
    (ReportQueue { sender }, receiver)
}

/// Writes queued reports until `stop`, then writes what is left and returns.
pub async fn run_writer(
    store: Store,
    mut queue: mpsc::Receiver<DeviceReport>,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            report = queue.recv() => report,
            () = stop.cancelled() => None,
        };
        let Some(first) = first else {
            break;
        };
        metrics::gauge!("steward_report_queue_depth").set(queue.len() as f64 + 1.0);
        batch.push(first);
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(report) => batch.push(report),
                Err(_) => break,
            }
        }
        write(&store, &mut batch).await;
        metrics::gauge!("steward_report_queue_depth").set(queue.len() as f64);
    }
    // Shutting down: what is queued is still written.
    queue.close();
    while let Some(report) = queue.recv().await {
        batch.push(report);
        if batch.len() >= BATCH {
            write(&store, &mut batch).await;
        }
    }
    write(&store, &mut batch).await;
}

/// Writes a batch in one transaction; if that fails, report by report, so one bad report
/// (say, of a device deleted meanwhile) costs only itself.
async fn write(store: &Store, batch: &mut Vec<DeviceReport>) {
    if batch.is_empty() {
        return;
    }
    let started = std::time::Instant::now();
    if store.apply_reports(batch).await.is_err() {
        for report in batch.iter() {
            if let Err(e) = store.apply_reports(std::slice::from_ref(report)).await {
                tracing::warn!(device = %report.device().id, error = %e, "cannot store a device report");
            }
        }
    }
    metrics::histogram!("steward_report_batch_size").record(batch.len() as f64);
    metrics::histogram!("steward_report_batch_seconds").record(started.elapsed().as_secs_f64());
    if started.elapsed() > Duration::from_secs(5) {
        tracing::warn!(reports = batch.len(), elapsed = ?started.elapsed(), "slow report batch");
    }
    batch.clear();
}
