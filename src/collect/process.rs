//! (stub until the /proc work lands)
use std::collections::HashMap;

use crate::model::ProcessInfo;

#[derive(Default)]
pub struct ProcessResolver;

impl ProcessResolver {
    pub fn new() -> ProcessResolver {
        ProcessResolver
    }
    pub fn resolve(&mut self, _wanted: &[u64], _now_ms: u64) -> HashMap<u64, ProcessInfo> {
        HashMap::new()
    }
    pub fn can_see_all_processes(&self) -> bool {
        true
    }
}
