//! The shipped Prometheus files (assets/prometheus/) are valid and the
//! alerting rules fire when they should: `promtool check config`, `promtool
//! check rules` and `promtool test rules` on their unit tests. Without
//! promtool the test skips, except under CI=true where it fails.

mod common;

use std::path::Path;
use std::process::Command;

use common::serve::{in_ci, tool};

#[test]
fn shipped_rules_and_scrape_config_pass_promtool() {
    let Some(promtool) = tool("promtool") else {
        assert!(
            !in_ci(),
            "promtool is not installed: .ci/run installs Debian's prometheus package"
        );
        eprintln!("skipped: promtool is not installed (apt-get install prometheus)");
        return;
    };
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prometheus");
    for args in [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "tcpwatch-rules.yml"],
        ["test", "rules", "tcpwatch-rules.test.yml"],
    ] {
        let output = Command::new(&promtool)
            .args(args)
            .current_dir(&assets)
            .output()
            .expect("run promtool");
        assert!(
            output.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
