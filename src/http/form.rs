//! `application/x-www-form-urlencoded` decoding (query strings and POST bodies).

use std::fmt;

/// Why a form could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// A decoded name or value is not UTF-8.
    NotUtf8,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("form data is not valid UTF-8")
    }
}

/// Decodes `a=1&b=x+y&c=%2F` into pairs, in order. `+` is a space; a `%` not followed by
/// two hex digits is kept literally (as browsers and Python's `parse_qs` do); empty
/// segments are skipped; a segment without `=` is a name with an empty value.
pub fn parse_urlencoded(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut pairs = Vec::new();
    for segment in input.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (name, value) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &b""[..]),
        };
        pairs.push((percent_decode(name)?, percent_decode(value)?));
    }
    Ok(pairs)
}

/// Decodes one urlencoded component.
pub fn percent_decode(input: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                input.get(i + 1).and_then(hex),
                input.get(i + 2).and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes one component so that [`percent_decode`] gives it back.
pub fn percent_encode(input: &str, out: &mut String) {
    for &b in input.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

/// Encodes pairs as a form body.
pub fn encode_urlencoded<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(k, &mut out);
        out.push('=');
        percent_encode(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        let got = parse_urlencoded(b"a=1&b=x+y&&c=%2F%7b&d&e=%zz&f=%e2%82%ac").unwrap();
        let want = [
            ("a", "1"),
            ("b", "x y"),
            ("c", "/{"),
            ("d", ""),
            ("e", "%zz"),
            ("f", "\u{20ac}"),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
    }

    #[test]
    fn rejects_bad_utf8() {
        assert_eq!(parse_urlencoded(b"a=%ff"), Err(FormError::NotUtf8));
    }

    #[test]
    fn round_trip() {
        let pairs = [("payload", "{\"a\": [1, \"&=+%\"]}"), ("k y", "\u{e9}")];
        let enc = encode_urlencoded(pairs);
        let dec = parse_urlencoded(enc.as_bytes()).unwrap();
        assert_eq!(dec[0], ("payload".into(), pairs[0].1.into()));
        assert_eq!(dec[1], ("k y".into(), "\u{e9}".into()));
    }
}
