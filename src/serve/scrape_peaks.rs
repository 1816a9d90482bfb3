//! `tcpwatch_listener_accept_queue_peak` for several scrapers: each scraper
//! gets the highest queue the 10 Hz listener sampler saw since *its own*
//! previous scrape, so two Prometheus servers (an HA pair) both see a burst
//! that filled and drained a queue between their scrapes, and a `curl` on
//! the side steals nothing from either.
//!
//! A scraper is known by its IP address, its User-Agent and an optional
//! `?scraper=NAME` query parameter (for two scrapers on one host with the
//! same User-Agent). A scraper seen for the first time, or forgotten,
//! gets the highest queue of the previous and the current tick interval.
//! At most `MAX_SCRAPERS` are remembered (the least recently scraping one is
//! forgotten first), and one that has not scraped for `FORGET_AFTER_MS` is
//! forgotten, so memory stays bounded whatever clients do.
//!
//! Owns: `ScrapePeaks`, `ScraperKey`. Must not: read the clock (time comes
//! in as `now_ms`) or do I/O.

use std::collections::HashMap;
use std::net::IpAddr;

use super::metrics::ListenerKey;

/// How many scrapers are remembered at once.
pub(crate) const MAX_SCRAPERS: usize = 16;
/// A scraper silent this long is forgotten (10 minutes).
pub(crate) const FORGET_AFTER_MS: u64 = 600_000;
/// User-Agent and scraper names are cut to this many bytes.
const KEY_TEXT_MAX: usize = 64;

/// Who scrapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ScraperKey {
    ip: IpAddr,
    agent: String,
    name: String,
}

impl ScraperKey {
    pub fn new(ip: IpAddr, agent: &str, name: &str) -> ScraperKey {
        ScraperKey {
            ip,
            agent: truncated(agent),
            name: truncated(name),
        }
    }
}

fn truncated(text: &str) -> String {
    let mut end = text.len().min(KEY_TEXT_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[derive(Debug, Clone, Default)]
struct Scraper {
    last_scrape_ms: u64,
    /// The highest non-zero queue per listening address since its last scrape.
    max_since: HashMap<ListenerKey, u32>,
}

/// Highest queues per scraper since its previous scrape.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScrapePeaks {
    previous_interval: HashMap<ListenerKey, u32>,
    current_interval: HashMap<ListenerKey, u32>,
    scrapers: HashMap<ScraperKey, Scraper>,
}

fn raise(map: &mut HashMap<ListenerKey, u32>, local: ListenerKey, queue: u32) {
    let slot = map.entry(local).or_insert(0);
    *slot = (*slot).max(queue);
}

impl ScrapePeaks {
    /// One sample of the listeners' queues (a 10 Hz sample, or a tick's).
    pub fn observe(&mut self, queues: impl IntoIterator<Item = (ListenerKey, u32)>) {
        for (local, queue) in queues {
            if queue == 0 {
                continue;
            }
            raise(&mut self.current_interval, local, queue);
            for scraper in self.scrapers.values_mut() {
                raise(&mut scraper.max_since, local, queue);
            }
        }
    }

    /// A full tick closed the interval: a new scraper's window moves on.
    pub fn close_interval(&mut self) {
        self.previous_interval = std::mem::take(&mut self.current_interval);
    }

    /// The highest queues `key` has not been shown yet; starts its next window.
    pub fn take(&mut self, key: &ScraperKey, now_ms: u64) -> HashMap<ListenerKey, u32> {
        self.scrapers
            .retain(|_, s| now_ms.saturating_sub(s.last_scrape_ms) <= FORGET_AFTER_MS);
        if let Some(scraper) = self.scrapers.get_mut(key) {
            scraper.last_scrape_ms = now_ms;
            return std::mem::take(&mut scraper.max_since);
        }
        if self.scrapers.len() >= MAX_SCRAPERS
            && let Some(oldest) = self
                .scrapers
                .iter()
                .min_by_key(|(_, s)| s.last_scrape_ms)
                .map(|(k, _)| k.clone())
        {
            self.scrapers.remove(&oldest);
        }
        self.scrapers.insert(
            key.clone(),
            Scraper {
                last_scrape_ms: now_ms,
                max_since: HashMap::new(),
            },
        );
        let mut recent = self.previous_interval.clone();
        for (local, queue) in &self.current_interval {
            raise(&mut recent, *local, *queue);
        }
        recent
    }

    /// How many scrapers are remembered.
    #[cfg(test)]
    pub fn scrapers(&self) -> usize {
        self.scrapers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> ListenerKey {
        ListenerKey::single("127.0.0.1:10000".parse().expect("addr"))
    }

    fn key(ip: &str, agent: &str) -> ScraperKey {
        ScraperKey::new(ip.parse().expect("ip"), agent, "")
    }

    #[test]
    fn each_scraper_sees_a_burst_since_its_own_previous_scrape() {
        let mut peaks = ScrapePeaks::default();
        let a = key("10.0.0.1", "Prometheus/2.42.0");
        let b = key("10.0.0.2", "Prometheus/2.42.0");
        assert!(peaks.take(&a, 0).is_empty());
        assert!(peaks.take(&b, 500).is_empty());
        // A burst between their scrapes, then the queue drains.
        peaks.observe([(addr(), 2)]);
        peaks.observe([(addr(), 0)]);
        peaks.close_interval();
        assert_eq!(peaks.take(&a, 1_000).get(&addr()), Some(&2));
        assert_eq!(
            peaks.take(&b, 1_500).get(&addr()),
            Some(&2),
            "the second scraper sees it too"
        );
        assert!(peaks.take(&a, 2_000).is_empty(), "shown once per scraper");
    }

    #[test]
    fn curl_on_the_prometheus_host_steals_nothing() {
        let mut peaks = ScrapePeaks::default();
        let prometheus = key("10.0.0.1", "Prometheus/2.42.0");
        let curl = key("10.0.0.1", "curl/7.88.1");
        peaks.take(&prometheus, 0);
        peaks.observe([(addr(), 5)]);
        assert_eq!(peaks.take(&curl, 100).get(&addr()), Some(&5));
        assert_eq!(peaks.take(&prometheus, 1_000).get(&addr()), Some(&5));
    }

    #[test]
    fn a_new_scraper_gets_the_last_two_intervals() {
        let mut peaks = ScrapePeaks::default();
        peaks.observe([(addr(), 3)]);
        peaks.close_interval();
        peaks.observe([(addr(), 1)]);
        let first = key("10.0.0.1", "a");
        assert_eq!(peaks.take(&first, 0).get(&addr()), Some(&3));
        peaks.close_interval();
        peaks.close_interval();
        let late = key("10.0.0.2", "a");
        assert!(peaks.take(&late, 0).is_empty(), "older intervals are gone");
    }

    #[test]
    fn scrapers_are_bounded_and_forgotten() {
        let mut peaks = ScrapePeaks::default();
        for i in 0..100u32 {
            let k = key("10.0.0.1", &format!("agent-{i}"));
            peaks.take(&k, u64::from(i));
        }
        assert_eq!(peaks.scrapers(), MAX_SCRAPERS);
        peaks.take(&key("10.0.0.9", "x"), FORGET_AFTER_MS + 1_000);
        assert_eq!(peaks.scrapers(), 1, "the silent ones are forgotten");
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let long = "é".repeat(100);
        let k = ScraperKey::new("::1".parse().expect("ip"), &long, &long);
        assert!(k.agent.len() <= KEY_TEXT_MAX);
        assert!(k.agent.chars().all(|c| c == 'é'));
    }
}
