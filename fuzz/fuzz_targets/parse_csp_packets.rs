#![no_main]
//! Fuzzes `hookbox::fuzzing::parse_csp_packets`; the properties it checks are documented there.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookbox::fuzzing::parse_csp_packets(data));
