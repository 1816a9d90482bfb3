//! Which exposition format a scraper gets, from its Accept header, and who
//! it is, from its address, User-Agent and `?scraper=` parameter.
//!
//! Owns: the Accept-header reading. Must not: encode metrics or do I/O.

use super::metrics::Format;

/// OpenMetrics when the scraper asks for it at least as much as for the
/// Prometheus text format (Prometheus 2.x does); otherwise the text format.
pub(crate) fn format_for(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Prometheus;
    };
    let mut openmetrics = 0.0_f64;
    let mut text = 0.0_f64;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f64>().ok())
            .filter(|q| q.is_finite())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/openmetrics-text" => openmetrics = openmetrics.max(quality),
            "text/plain" => text = text.max(quality),
            _ => {}
        }
    }
    if openmetrics > 0.0 && openmetrics >= text {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

/// The `scraper` query parameter, e.g. `/metrics?scraper=prom-a`.
pub(crate) fn scraper_name(query: Option<&str>) -> &str {
    query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("scraper="))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_and_curl_gets_text() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                          version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(format_for(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(format_for(Some("*/*")), Format::Prometheus);
        assert_eq!(format_for(None), Format::Prometheus);
        assert_eq!(
            format_for(Some(
                "text/plain;version=0.0.4,application/openmetrics-text;q=0.5"
            )),
            Format::Prometheus
        );
        assert_eq!(
            format_for(Some("application/openmetrics-text;q=0")),
            Format::Prometheus
        );
        assert_eq!(format_for(Some(";;,,;q=;")), Format::Prometheus);
    }

    #[test]
    fn the_scraper_parameter_is_found() {
        assert_eq!(scraper_name(Some("a=1&scraper=prom-b")), "prom-b");
        assert_eq!(scraper_name(Some("a=1")), "");
        assert_eq!(scraper_name(None), "");
    }
}
