#![no_main]
//! Fuzzes `hookbox::fuzzing::decode_ws_frames`; the properties it checks are documented there.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookbox::fuzzing::decode_ws_frames(data));
