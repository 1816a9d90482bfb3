//! (stub until the netlink work lands)
use super::{CollectError, DumpRequest, SocketTable};
use crate::model::{SocketRecord, SourceKind};

pub struct NetlinkTable;

impl NetlinkTable {
    pub fn open() -> Result<NetlinkTable, CollectError> {
        Err(CollectError::NetlinkRefused {
            source: std::io::Error::other("not built yet"),
        })
    }
}

impl SocketTable for NetlinkTable {
    fn kind(&self) -> SourceKind {
        SourceKind::Netlink
    }
    fn dump(
        &mut self,
        _: &DumpRequest,
        _: &mut dyn FnMut(&SocketRecord),
    ) -> Result<(), CollectError> {
        Ok(())
    }
}
