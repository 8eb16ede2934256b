//! The properties the fuzz targets check, shared with the `cargo test` that replays the
//! corpus. Each takes arbitrary bytes and panics only when a property is broken.

use serde_json::Value;

use crate::http::form::{encode_urlencoded, parse_urlencoded};
use crate::http::{BodyDecoder, BodyFraming, HeadLimits, Read, ReadError, RequestReader};
use crate::rtjp::{parse_frame, split_line, OutFrame};
use crate::ws::{WsDecoder, WsError, WsEvent};

/// Small limits, so the fuzzer reaches them.
const LIMITS: HeadLimits = HeadLimits {
    max_head: 2048,
    max_target: 512,
    max_headers: 16,
};
const MAX_BODY: usize = 4096;
const MAX_WS_MESSAGE: usize = 4096;

/// Where to cut the input in two, chosen by its first byte.
fn cut_point(data: &[u8]) -> usize {
    match data.first() {
        Some(&b) => usize::from(b) * data.len() / 256,
        None => 0,
    }
}

/// What a connection would see: each request's method, path, query and body, and whether
/// the stream ended in an error.
type Requests = (Vec<(String, String, String, Vec<u8>)>, bool);

fn read_requests(chunks: &[&[u8]]) -> Requests {
    let mut reader = RequestReader::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut current = None;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let read = match reader.read(&buf, &LIMITS) {
                Ok(r) => r,
                Err(_) => return (out, true),
            };
            match read {
                Read::Need(used) => {
                    buf.drain(..used);
                    break;
                }
                Read::Head(used, head) => {
                    buf.drain(..used);
                    let item = (
                        head.method.as_str().to_string(),
                        head.path.clone(),
                        head.query.clone(),
                    );
                    match head.framing {
                        BodyFraming::None => out.push((item.0, item.1, item.2, Vec::new())),
                        BodyFraming::Length(n) => match BodyDecoder::with_length(n, MAX_BODY) {
                            Ok(d) => {
                                reader.begin_body(d);
                                current = Some(item);
                            }
                            Err(_) => return (out, true),
                        },
                        BodyFraming::Chunked => {
                            reader.begin_body(BodyDecoder::chunked(MAX_BODY));
                            current = Some(item);
                        }
                    }
                }
                Read::Body(used, body) => {
                    buf.drain(..used);
                    if let Some((m, p, q)) = current.take() {
                        assert!(body.len() <= MAX_BODY);
                        out.push((m, p, q, body));
                    }
                }
            }
        }
    }
    (out, false)
}

/// HTTP requests (heads, Content-Length and chunked bodies): never a panic, and the same
/// requests whether the bytes arrive whole or in two pieces.
pub fn parse_request(data: &[u8]) {
    let whole = read_requests(&[data]);
    let cut = cut_point(data);
    let split = read_requests(&[&data[..cut], &data[cut..]]);
    assert_eq!(whole, split, "cut at {cut}");
    let _ = ReadError::Head(crate::http::HeadError::Malformed).status();
}

fn decode_ws(chunks: &[&[u8]]) -> (Vec<WsEvent>, Option<WsError>) {
    let mut d = WsDecoder::new(MAX_WS_MESSAGE);
    let mut buf: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut at = 0;
        loop {
            match d.decode(&buf[at..]) {
                Err(e) => return (events, Some(e)),
                Ok((0, None)) => break,
                Ok((used, ev)) => {
                    at += used;
                    if let Some(ev) = ev {
                        if let WsEvent::Text(t) | WsEvent::Binary(t) = &ev {
                            assert!(t.len() <= MAX_WS_MESSAGE);
                        }
                        if let WsEvent::Text(t) = &ev {
                            assert!(std::str::from_utf8(t).is_ok());
                        }
                        events.push(ev);
                    }
                }
            }
        }
        buf.drain(..at);
    }
    (events, None)
}

/// WebSocket frames from a client: never a panic, text is always UTF-8, messages stay
/// within the limit, and cutting the input in two changes nothing.
pub fn decode_ws_frames(data: &[u8]) {
    let whole = decode_ws(&[data]);
    let cut = cut_point(data);
    let split = decode_ws(&[&data[..cut], &data[cut..]]);
    assert_eq!(whole, split, "cut at {cut}");
}

/// RTJP lines: never a panic, and a frame that parses re-encodes to one that parses the same.
pub fn parse_rtjp_line(data: &[u8]) {
    let mut at = 0;
    while let Ok(Some((line, used))) = split_line(&data[at..], 1024) {
        at += used;
        let Ok(frame) = parse_frame(line) else {
            continue;
        };
        let text = serde_json::to_vec(&Value::Array(vec![
            frame.id.clone(),
            Value::String(frame.name.clone()),
            Value::Object(frame.args.clone()),
        ]))
        .expect("a parsed frame serialises");
        let again = parse_frame(&text).expect("a re-encoded frame parses");
        assert_eq!(again, frame);
        // The server's own encoding of the same name and args parses too.
        let out = OutFrame::new(&frame.name, &frame.args).to_line(7);
        let (line, _) = split_line(&out, usize::MAX)
            .ok()
            .flatten()
            .expect("one line");
        let back = parse_frame(line).expect("a server frame parses");
        assert_eq!((back.name, back.args), (frame.name, frame.args));
    }
}

/// urlencoded forms: never a panic, and decoding what encoding gave returns the same pairs.
pub fn parse_urlencoded_form(data: &[u8]) {
    let Ok(pairs) = parse_urlencoded(data) else {
        return;
    };
    let encoded = encode_urlencoded(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let again = parse_urlencoded(encoded.as_bytes()).expect("our encoding decodes");
    // Empty segments vanish and a lone name gains an empty value: compare the meaning.
    let meaning = |p: &[(String, String)]| -> Vec<(String, String)> {
        p.iter()
            .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
            .cloned()
            .collect()
    };
    assert_eq!(meaning(&again), meaning(&pairs));
}

/// CSP request variables from a query string: never a panic, and whatever is accepted can
/// put no markup or quote into an answer (prefixes, suffixes and prebuffer are echoed).
pub fn parse_csp_vars(data: &[u8]) {
    let Ok(pairs) = parse_urlencoded(data) else {
        return;
    };
    let mut fields = crate::rest::Fields::from_pairs(pairs);
    let Ok(vars) = crate::csp::CspVars::default().updated(&mut fields) else {
        return;
    };
    let _ = crate::csp::vars::request(&mut fields, None);
    let empty: Vec<crate::csp::session::Queued> = Vec::new();
    let mut answer = Vec::new();
    for p in crate::csp::render::packets(&vars, empty.iter(), true) {
        p.to_bytes(&mut answer);
    }
    answer.extend_from_slice(crate::csp::render::reply(&vars, "1").as_bytes());
    for bad in [b'<', b'>', b'"', b'\'', b'&', b'/'] {
        assert!(
            !answer.contains(&bad),
            "{:?} in {:?}",
            bad as char,
            String::from_utf8_lossy(&answer)
        );
    }
    assert!(
        vars.prebuffer().len() <= crate::csp::vars::MAX_PREBUFFER + crate::csp::vars::MAX_AFFIX
    );
    assert!(vars.du <= crate::csp::vars::MAX_DURATION);
}

/// CSP packet lists from a client: never a panic, and what parses survives re-encoding in
/// base64 (and as plain text when it is text).
pub fn parse_csp_packets(data: &[u8]) {
    let Ok(packets) = crate::csp::parse_packets(data) else {
        return;
    };
    use base64::Engine as _;
    let encode = |plain: bool| -> Vec<u8> {
        let items: Vec<Value> = packets
            .iter()
            .map(|p| match &p.data {
                None => serde_json::json!([p.id, 0, null]),
                Some(d) if plain => {
                    serde_json::json!([p.id, 0, String::from_utf8(d.clone()).unwrap_or_default()])
                }
                Some(d) => serde_json::json!([
                    p.id,
                    1,
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d)
                ]),
            })
            .collect();
        serde_json::to_vec(&items).unwrap_or_default()
    };
    let again = crate::csp::parse_packets(&encode(false)).expect("base64 packets parse");
    assert_eq!(again, packets);
    if packets.iter().all(|p| {
        p.data
            .as_ref()
            .is_none_or(|d| std::str::from_utf8(d).is_ok())
    }) {
        let again = crate::csp::parse_packets(&encode(true)).expect("plain packets parse");
        assert_eq!(again, packets);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_hold_on_simple_inputs() {
        parse_request(
            b"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n",
        );
        decode_ws_frames(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
        parse_rtjp_line(b"[1, \"A\", {\"x\": [1, 2.5, null]}]\r\n[2, \"B\"]\n");
        parse_urlencoded_form(b"a=1&&b=%zz&=x&c");
        parse_csp_vars(b"bp=cb1&bs=%3B&ps=3&p=x&du=0&ct=text/html&se=1");
        parse_csp_packets(b"[[1, 0, \"a\"], [2, 1, \"aGk\"], [3, 0, null]]");
    }
}
