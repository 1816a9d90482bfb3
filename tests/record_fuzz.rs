//! Fuzzing the recording's decoders with proptest: any bytes, a valid
//! recording with bytes changed, or frame payloads of any content decode to
//! an error or to what was recorded, never a panic.

mod common;

use std::sync::OnceLock;

use common::recording::{scripted_ticks, write_recording};
use proptest::prelude::*;
use tcpwatch::record::Recording;
use tcpwatch::record::format::{FILE_MAGIC, decode_record};
use tcpwatch::record::frame::{decompress, tick_from_text};

/// A small valid recording, made once.
fn valid() -> &'static Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("valid.rec");
        write_recording(&path, &scripted_ticks(3), true);
        std::fs::read(&path).expect("read")
    })
}

fn read_all(bytes: &[u8]) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fuzz.rec");
    std::fs::write(&path, bytes).expect("write");
    let Ok(mut recording) = Recording::open(&path) else {
        return 0;
    };
    (0..recording.frames().len())
        .filter(|n| recording.tick(*n).is_ok())
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_are_a_record_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_record(&bytes);
        let mut framed = b"TWFR".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = decode_record(&framed);
    }

    #[test]
    fn any_payload_decompresses_or_errs(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decompress(&bytes, None);
        let _ = decompress(&bytes, Some(b"a dictionary"));
        let _ = tick_from_text(&bytes);
    }

    #[test]
    fn any_file_after_the_magic_opens_or_errs(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut file = FILE_MAGIC.to_vec();
        file.extend_from_slice(&bytes);
        read_all(&file);
    }

    #[test]
    fn a_recording_with_changed_bytes_never_panics(
        changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = valid().clone();
        for (at, value) in changes {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        let keep = cut % (bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        prop_assert!(read_all(&bytes) <= 3);
    }
}
