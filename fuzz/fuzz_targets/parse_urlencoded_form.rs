#![no_main]
//! Fuzzes `hookbox::fuzzing::parse_urlencoded_form`; the properties it checks are documented there.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hookbox::fuzzing::parse_urlencoded_form(data));
