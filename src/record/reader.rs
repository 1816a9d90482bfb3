//! Reads a recording: the header, the frame index (from the footer of a
//! closed recording, or by walking the record headers of one that was cut
//! short), and any frame by number or time. Damage ends the readable part:
//! frames before it replay, and `damage` says what stopped the walk.
//!
//! Owns: opening, indexing and decoding frames. Must not: panic on any
//! bytes, or allocate more than a record's checked length.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::RecordError;
use super::format::{
    FILE_MAGIC, FOOTER_LEN, FrameEntry, RECORD_HEADER_LEN, RecordHeader, RecordKind, check_payload,
    decode_footer, decode_header, decode_index,
};
use super::frame::{decompress, tick_from_text};
use super::writer::RecordingHeader;
use crate::watch::FullTick;

/// An open recording.
pub struct Recording {
    path: PathBuf,
    file: File,
    header: RecordingHeader,
    frames: Vec<FrameEntry>,
    damage: Option<String>,
    /// The last keyframe's text, by offset: frames after it reuse it.
    key_cache: Option<(u64, Vec<u8>)>,
}

impl Recording {
    pub fn open(path: &Path) -> Result<Recording, RecordError> {
        let file = File::open(path).map_err(|source| RecordError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| RecordError::Open {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let mut magic = [0u8; 8];
        if len < FILE_MAGIC.len() as u64
            || file.read_exact_at(&mut magic, 0).is_err()
            || &magic != FILE_MAGIC
        {
            return Err(RecordError::NotARecording {
                path: path.to_path_buf(),
            });
        }
        let mut reader = Recording {
            path: path.to_path_buf(),
            file,
            header: RecordingHeader::new("", "", "", Vec::new(), 0, Default::default(), 0),
            frames: Vec::new(),
            damage: None,
            key_cache: None,
        };
        let first = FILE_MAGIC.len() as u64;
        let (header, payload) =
            reader
                .read_record(first, len)
                .map_err(|why| RecordError::Damaged {
                    path: path.to_path_buf(),
                    what: format!("the header: {why}"),
                })?;
        if header.kind != RecordKind::Header {
            return Err(RecordError::Damaged {
                path: path.to_path_buf(),
                what: "the first record is not the header".to_string(),
            });
        }
        reader.header = serde_json::from_slice(&payload).map_err(|e| RecordError::Damaged {
            path: path.to_path_buf(),
            what: format!("the header: {e}"),
        })?;
        let after_header = first + header.total_len();
        match reader.index_from_footer(len) {
            Some(frames) => reader.frames = frames,
            None => reader.walk(after_header, len),
        }
        Ok(reader)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &RecordingHeader {
        &self.header
    }

    /// Every frame, in time order.
    pub fn frames(&self) -> &[FrameEntry] {
        &self.frames
    }

    /// What cut the recording short, when something did.
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }

    fn read_record(&self, offset: u64, len: u64) -> Result<(RecordHeader, Vec<u8>), String> {
        let mut head = [0u8; RECORD_HEADER_LEN];
        if offset + RECORD_HEADER_LEN as u64 > len {
            return Err(format!("cut short at byte {offset}"));
        }
        self.file
            .read_exact_at(&mut head, offset)
            .map_err(|e| e.to_string())?;
        let header = decode_header(&head).map_err(|e| format!("{e} (byte {offset})"))?;
        if offset + header.total_len() > len {
            return Err(format!("the record at byte {offset} is cut short"));
        }
        let mut payload = vec![0u8; header.payload_len as usize];
        self.file
            .read_exact_at(&mut payload, offset + RECORD_HEADER_LEN as u64)
            .map_err(|e| e.to_string())?;
        check_payload(&head, &header, &payload).map_err(|e| format!("{e} (byte {offset})"))?;
        Ok((header, payload))
    }

    /// The index a closed recording ends with, if it is whole.
    fn index_from_footer(&self, len: u64) -> Option<Vec<FrameEntry>> {
        let footer_at = len.checked_sub(FOOTER_LEN as u64)?;
        let mut footer = [0u8; FOOTER_LEN];
        self.file.read_exact_at(&mut footer, footer_at).ok()?;
        let index_offset = decode_footer(&footer)?;
        let (header, payload) = self.read_record(index_offset, footer_at).ok()?;
        if header.kind != RecordKind::Index || index_offset + header.total_len() != footer_at {
            return None;
        }
        let frames = decode_index(&payload)?;
        let sane = frames.windows(2).all(|w| w[0].offset < w[1].offset)
            && frames
                .iter()
                .all(|f| f.offset < index_offset && f.key_offset <= f.offset);
        sane.then_some(frames)
    }

    /// Walks record headers (skipping payloads) to build the index of a
    /// recording that was not closed; stops at the first damage.
    fn walk(&mut self, mut offset: u64, len: u64) {
        let mut head = [0u8; RECORD_HEADER_LEN];
        while offset < len {
            let step = if offset + RECORD_HEADER_LEN as u64 > len {
                Err(format!("cut short at byte {offset}"))
            } else {
                self.file
                    .read_exact_at(&mut head, offset)
                    .map_err(|e| e.to_string())
                    .and_then(|()| decode_header(&head).map_err(|e| format!("{e} (byte {offset})")))
            };
            let header = match step {
                Ok(header) if offset + header.total_len() <= len => header,
                Ok(_) => {
                    self.damage = Some(format!("the record at byte {offset} is cut short"));
                    return;
                }
                Err(why) => {
                    self.damage = Some(why);
                    return;
                }
            };
            if header.kind.is_frame() {
                self.frames.push(FrameEntry {
                    offset,
                    at_ms: header.at_ms,
                    key_offset: header.key_offset,
                    flags: header.flags,
                });
            }
            offset += header.total_len();
        }
    }

    /// The frame `number` as a tick. A damaged frame is an error naming it;
    /// the frames around it still read.
    pub fn tick(&mut self, number: usize) -> Result<FullTick, RecordError> {
        let text = self.frame_text(number)?;
        let (_, tick) = tick_from_text(&text).map_err(|e| RecordError::Damaged {
            path: self.path.clone(),
            what: format!("frame {number}: {e}"),
        })?;
        Ok(tick)
    }

    /// The frame `number` as its JSON text (a contract-v1 `snapshot`).
    pub fn frame_text(&mut self, number: usize) -> Result<Vec<u8>, RecordError> {
        let entry = *self.frames.get(number).ok_or(RecordError::NoSuchFrame {
            number,
            count: self.frames.len(),
        })?;
        let path = self.path.clone();
        let damaged = |what: String| RecordError::Damaged {
            path: path.clone(),
            what: format!("frame {number}: {what}"),
        };
        let len = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        let (header, payload) = self.read_record(entry.offset, len).map_err(damaged)?;
        let text = match header.kind {
            RecordKind::KeyFrame => {
                let text = decompress(&payload, None).map_err(|e| damaged(e.to_string()))?;
                self.key_cache = Some((entry.offset, text.clone()));
                text
            }
            RecordKind::Frame => {
                let key = self.key_text(header.key_offset, len).map_err(damaged)?;
                decompress(&payload, Some(&key)).map_err(|e| damaged(e.to_string()))?
            }
            _ => return Err(damaged("not a frame".to_string())),
        };
        Ok(text)
    }

    fn key_text(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        if let Some((cached, text)) = &self.key_cache
            && *cached == offset
        {
            return Ok(text.clone());
        }
        let (header, payload) = self.read_record(offset, len)?;
        if header.kind != RecordKind::KeyFrame {
            return Err(format!("its keyframe at byte {offset} is not one"));
        }
        let text = decompress(&payload, None).map_err(|e| format!("its keyframe: {e}"))?;
        self.key_cache = Some((offset, text.clone()));
        Ok(text)
    }

    /// The last frame taken at or before `at_ms` (the first frame if all
    /// are later).
    pub fn frame_at(&self, at_ms: u64) -> Option<usize> {
        if self.frames.is_empty() {
            return None;
        }
        let after = self.frames.partition_point(|f| f.at_ms <= at_ms);
        Some(after.saturating_sub(1))
    }

    /// The first frame after `number` at which an alert was raised or cleared.
    pub fn next_alert_after(&self, number: usize) -> Option<usize> {
        self.frames
            .iter()
            .enumerate()
            .skip(number + 1)
            .find(|(_, f)| f.flags & super::format::flags::ALERT_EVENTS != 0)
            .map(|(i, _)| i)
    }

    /// First and last frame times.
    pub fn span_ms(&self) -> Option<(u64, u64)> {
        Some((self.frames.first()?.at_ms, self.frames.last()?.at_ms))
    }
}
