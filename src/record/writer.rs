//! Writes a recording: the header, then one frame per full tick, each
//! written whole in one call; on a write error (a full disk, a file size
//! limit) the file is cut back to its last whole frame. Closing writes the
//! frame index and the footer. Rotation starts a new segment when the file
//! reaches `--max-size` or has recorded for an hour, and removes segments
//! older than `--keep`.
//!
//! Owns: the recording file and its segments. Must not: sample or judge;
//! it is given ticks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::RecordError;
use super::format::{
    FILE_MAGIC, FrameEntry, RecordKind, encode_footer, encode_index, encode_record,
};
use super::frame::{compress, compress_with, compressor, frame_flags, frame_text};
use crate::format::timestamp::format_rfc3339;
use crate::output::contract::{SCHEMA_VERSION, TOOL_VERSION};
use crate::watch::FullTick;

/// A keyframe every this many frames: a frame decodes from itself and its
/// keyframe, and the dictionary follows the table as it changes.
pub const KEYFRAME_EVERY: u32 = 60;
/// A segment records for at most this long when `--keep` is set, so old
/// history can be removed in pieces.
const SEGMENT_SPAN_MS: u64 = 3_600_000;

/// The recording's self-description, the first record of every segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingHeader {
    pub format: String,
    pub format_version: u32,
    pub schema_version: u32,
    pub version: String,
    pub host: String,
    pub kernel: String,
    pub namespace: String,
    /// The command line that made it.
    pub flags: Vec<String>,
    pub start: String,
    pub start_ms: u64,
    pub interval_ms: u64,
    pub max_connections: usize,
}

impl RecordingHeader {
    pub fn new(
        host: &str,
        kernel: &str,
        namespace: &str,
        flags: Vec<String>,
        start_ms: u64,
        interval: Duration,
        max_connections: usize,
    ) -> RecordingHeader {
        RecordingHeader {
            format: "tcpwatch recording".to_string(),
            format_version: 1,
            schema_version: SCHEMA_VERSION,
            version: TOOL_VERSION.to_string(),
            host: host.to_string(),
            kernel: kernel.to_string(),
            namespace: namespace.to_string(),
            flags,
            start: format_rfc3339(start_ms),
            start_ms,
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            max_connections,
        }
    }
}

/// How to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    pub path: PathBuf,
    pub max_connections: usize,
    /// Start a new segment past this size.
    pub max_size: Option<u64>,
    /// Remove segments older than this.
    pub keep: Option<Duration>,
}

/// The keyframe the following frames are compressed against.
struct Key {
    offset: u64,
    compressor: zstd::bulk::Compressor<'static>,
}

/// An open recording.
pub struct Recorder {
    options: RecordOptions,
    header: RecordingHeader,
    file: File,
    /// Bytes written and whole.
    written: u64,
    key: Option<Key>,
    since_key: u32,
    entries: Vec<FrameEntry>,
    segment_start_ms: u64,
    finished: bool,
}

fn io_error(path: &Path, source: io::Error) -> RecordError {
    RecordError::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl Recorder {
    /// Creates the file (it must not exist: a recording is never overwritten).
    pub fn create(
        options: RecordOptions,
        header: RecordingHeader,
    ) -> Result<Recorder, RecordError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&options.path)
            .map_err(|source| RecordError::Create {
                path: options.path.clone(),
                source,
            })?;
        let mut recorder = Recorder {
            segment_start_ms: header.start_ms,
            options,
            header,
            file,
            written: 0,
            key: None,
            since_key: 0,
            entries: Vec::new(),
            finished: false,
        };
        let header_json = serde_json::to_vec(&recorder.header).unwrap_or_default();
        let mut bytes = FILE_MAGIC.to_vec();
        bytes.extend(encode_record(
            RecordKind::Header,
            0,
            recorder.header.start_ms,
            0,
            &header_json,
        ));
        recorder.append(&bytes)?;
        Ok(recorder)
    }

    pub fn path(&self) -> &Path {
        &self.options.path
    }

    /// Frames written to the current segment.
    pub fn frames(&self) -> usize {
        self.entries.len()
    }

    /// Bytes in the current segment.
    pub fn size(&self) -> u64 {
        self.written
    }

    /// Writes all of `bytes` or, on failure, cuts the file back so it ends
    /// with the last whole record.
    fn append(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.written += bytes.len() as u64;
                Ok(())
            }
            Err(source) => {
                let _ = self.file.set_len(self.written);
                let _ = self.file.sync_data();
                Err(io_error(&self.options.path, source))
            }
        }
    }

    /// Records one full tick.
    pub fn write_tick(&mut self, tick: &FullTick) -> Result<(), RecordError> {
        if self.should_rotate(tick.at_ms()) {
            self.rotate(tick.at_ms())?;
        }
        let text = frame_text(&self.header.host, tick, self.options.max_connections);
        let offset = self.written;
        let flags = frame_flags(tick);
        let (kind, key_offset, payload) = match &mut self.key {
            Some(key) if self.since_key < KEYFRAME_EVERY => (
                RecordKind::Frame,
                key.offset,
                compress_with(&mut key.compressor, &text)?,
            ),
            _ => (RecordKind::KeyFrame, offset, compress(&text, None)?),
        };
        let bytes = encode_record(kind, flags, tick.at_ms(), key_offset, &payload);
        self.append(&bytes)?;
        if kind == RecordKind::KeyFrame {
            self.key = Some(Key {
                offset,
                compressor: compressor(Some(&text))?,
            });
            self.since_key = 1;
        } else {
            self.since_key += 1;
        }
        self.entries.push(FrameEntry {
            offset,
            at_ms: tick.at_ms(),
            key_offset,
            flags,
        });
        Ok(())
    }

    fn should_rotate(&self, at_ms: u64) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let too_big = self.options.max_size.is_some_and(|max| self.written >= max);
        let too_long = self.options.keep.is_some()
            && at_ms.saturating_sub(self.segment_start_ms) >= SEGMENT_SPAN_MS;
        too_big || too_long
    }

    /// Closes this segment under a name with its start time, opens a fresh
    /// one at the recording's path and removes segments past `--keep`.
    fn rotate(&mut self, at_ms: u64) -> Result<(), RecordError> {
        self.finish_segment()?;
        let stamp = format_rfc3339(self.segment_start_ms).replace([':', '.'], "");
        let rotated = PathBuf::from(format!("{}.{stamp}", self.options.path.display()));
        fs::rename(&self.options.path, &rotated).map_err(|e| io_error(&rotated, e))?;
        let mut header = self.header.clone();
        header.start_ms = at_ms;
        header.start = format_rfc3339(at_ms);
        let fresh = Recorder::create(self.options.clone(), header)?;
        *self = fresh;
        if let Some(keep) = self.options.keep {
            remove_segments_older_than(&self.options.path, keep);
        }
        Ok(())
    }

    /// Writes the index and footer once.
    fn finish_segment(&mut self) -> Result<(), RecordError> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        let index_offset = self.written;
        let last_ms = self.entries.last().map_or(0, |e| e.at_ms);
        let mut bytes = encode_record(
            RecordKind::Index,
            0,
            last_ms,
            0,
            &encode_index(&self.entries),
        );
        bytes.extend_from_slice(&encode_footer(index_offset));
        self.append(&bytes)?;
        self.file
            .sync_all()
            .map_err(|e| io_error(&self.options.path, e))
    }

    /// Closes the recording: the index for fast seeking, then the footer.
    pub fn finish(mut self) -> Result<(), RecordError> {
        self.finish_segment()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Best effort: without the index a reader scans the frames instead.
        let _ = self.finish_segment();
    }
}

/// Removes `PATH.<stamp>` segments last written more than `keep` ago.
fn remove_segments_older_than(path: &Path, keep: Duration) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        if !file_name.to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > keep);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}
