//! The dashboard on a recording (to come).

use crate::cli::{Config, ReplayConfig};
use crate::error::AppError;

pub fn run(_config: &Config, replay: &ReplayConfig) -> Result<(), AppError> {
    Err(AppError::Replay(format!(
        "the replay dashboard is not built yet: use `tcpwatch replay {} --once --at +90s` or --stream",
        replay.file.display()
    )))
}
