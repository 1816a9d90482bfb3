//! (stub until the namespace work lands)
use std::path::PathBuf;

use super::CollectError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsTarget {
    Host,
    Pid(u32),
    Named(String),
}

impl NetnsTarget {
    pub fn label(&self) -> String {
        match self {
            NetnsTarget::Host => "host".to_string(),
            NetnsTarget::Pid(pid) => format!("pid {pid}"),
            NetnsTarget::Named(name) => format!("netns {name}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NamespaceContext {
    pub net_dir: PathBuf,
    pub sys_root: Option<PathBuf>,
    pub netlink_usable: bool,
    pub label: String,
    pub notes: Vec<String>,
}

pub fn enter(target: &NetnsTarget) -> Result<NamespaceContext, CollectError> {
    Ok(NamespaceContext {
        net_dir: PathBuf::from("/proc/thread-self/net"),
        sys_root: Some(PathBuf::from("/proc/sys")),
        netlink_usable: true,
        label: target.label(),
        notes: Vec::new(),
    })
}
