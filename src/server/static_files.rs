//! Files built into the binary, served at `/` and `/static/<name>`.
//!
//! Lookup is by exact name in a fixed table, so no request can reach the file system.

use crate::http::{Method, RequestHead, Response};

pub struct StaticFile {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const FILES: &[StaticFile] = &[
    StaticFile {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../static/index.html"),
    },
    StaticFile {
        name: "hookbox.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/hookbox.js"),
    },
    StaticFile {
        name: "demo.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/demo.js"),
    },
];

/// The file called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static StaticFile> {
    FILES.iter().find(|f| f.name == name)
}

/// A strong validator from the content (FNV-1a, 64 bits).
pub fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in body {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

/// Whether an `If-None-Match` value names `tag` (or is `*`).
fn matches(if_none_match: &str, tag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// Answers GET or HEAD for a file: 200 with the body, or 304 when the client has it.
pub fn respond(file: &StaticFile, head: &RequestHead) -> Response {
    let tag = etag(file.body);
    let base = |status| {
        Response::new(status)
            .header("ETag", &tag)
            .header("Cache-Control", "no-cache")
    };
    let mut r = match head.header_str("if-none-match") {
        Some(v) if matches(v, &tag) => base(304),
        _ => base(200)
            .header("Content-Type", file.content_type)
            .header("X-Content-Type-Options", "nosniff")
            .body(file.body),
    };
    r.head_only = head.method == Method::Head;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_validators() {
        assert!(find("index.html").is_some());
        assert!(find("../Cargo.toml").is_none());
        assert!(find("").is_none());
        let tag = etag(b"abc");
        assert_eq!(tag.len(), 18);
        assert_ne!(tag, etag(b"abd"));
        assert!(matches(&format!("\"x\", W/{tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"x\"", &tag));
    }
}
