//! Replays every seed and every minimised crash under `fuzz/corpus/<target>/` through the
//! same property the fuzz target checks, so a fixed crash stays fixed without the fuzzer.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(result.is_ok(), "{target}: {} fails", path.display());
        count += 1;
    }
    assert!(count >= 4, "{target}: only {count} corpus files");
}

#[test]
fn parse_request_corpus() {
    replay("parse_request", hookbox::fuzzing::parse_request);
}

#[test]
fn decode_ws_frames_corpus() {
    replay("decode_ws_frames", hookbox::fuzzing::decode_ws_frames);
}

#[test]
fn parse_rtjp_line_corpus() {
    replay("parse_rtjp_line", hookbox::fuzzing::parse_rtjp_line);
}

#[test]
fn parse_urlencoded_form_corpus() {
    replay(
        "parse_urlencoded_form",
        hookbox::fuzzing::parse_urlencoded_form,
    );
}

#[test]
fn parse_csp_vars_corpus() {
    replay("parse_csp_vars", hookbox::fuzzing::parse_csp_vars);
}

#[test]
fn parse_csp_packets_corpus() {
    replay("parse_csp_packets", hookbox::fuzzing::parse_csp_packets);
}
