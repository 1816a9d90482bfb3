//! What the tick consumer publishes and scrapes read: the latest encoded
//! exposition and the per-scraper peaks, behind one mutex held only for a
//! pointer swap or a small map update, never for a dump or an encoding. A
//! scrape therefore never waits for a sample.
//!
//! Owns: `Shared`. Must not: encode a whole tick under the lock, or do I/O.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::metrics::{Exposition, Format, ListenerKey};
use super::scrape_peaks::{ScrapePeaks, ScraperKey};

#[derive(Debug, Default)]
struct Published {
    exposition: Option<Arc<Exposition>>,
    /// Why the latest full sample failed, for a scrape before any succeeded.
    last_error: Option<String>,
    peaks: ScrapePeaks,
}

/// The exporter's state as scrapes see it.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    published: Mutex<Published>,
}

impl Shared {
    pub fn new() -> Shared {
        Shared::default()
    }

    fn lock(&self) -> MutexGuard<'_, Published> {
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A full tick: its exposition, and the queues of the interval it closes.
    pub fn publish(
        &self,
        exposition: Exposition,
        interval_queues: impl IntoIterator<Item = (ListenerKey, u32)>,
    ) {
        let exposition = Arc::new(exposition);
        let mut published = self.lock();
        published.exposition = Some(exposition);
        published.last_error = None;
        published.peaks.observe(interval_queues);
        published.peaks.close_interval();
    }

    /// A newer exposition within the same interval (e.g. fresher counters).
    pub fn replace(&self, exposition: Exposition) {
        let exposition = Arc::new(exposition);
        self.lock().exposition = Some(exposition);
    }

    /// A full sample failed.
    pub fn set_error(&self, message: String) {
        self.lock().last_error = Some(message);
    }

    /// Why there is nothing to show yet, if a sample failed.
    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// A 10 Hz listener sample.
    pub fn observe(&self, queues: impl IntoIterator<Item = (ListenerKey, u32)>) {
        self.lock().peaks.observe(queues);
    }

    /// The text for one scrape, or `None` before the first full sample.
    pub fn scrape(&self, scraper: &ScraperKey, format: Format, now_ms: u64) -> Option<String> {
        let (exposition, peaks) = {
            let mut published = self.lock();
            let exposition = published.exposition.clone()?;
            (exposition, published.peaks.take(scraper, now_ms))
        };
        Some(exposition.with_peaks(format, |local| peaks.get(local).copied().unwrap_or(0)))
    }
}
