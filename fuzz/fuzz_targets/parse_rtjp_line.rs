#![no_main]
//! Fuzzes `hookbox::fuzzing::parse_rtjp_line`; the properties it checks are documented there.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookbox::fuzzing::parse_rtjp_line(data));
