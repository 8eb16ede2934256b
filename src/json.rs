//! JSON text in the spacing Hookbox's Python side wrote (`json.dumps`): `", "` between items
//! and `": "` after keys, so answers read `[true, {}]` byte for byte as they did.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// serde_json formatter with Python's default separators.
#[derive(Debug, Default, Clone, Copy)]
pub struct PyFormatter;

/// `", "` before every item but the first.
fn separator<W: ?Sized + io::Write>(w: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        w.write_all(b", ")
    }
}

impl Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Appends `value` to `out` in Python's spacing.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let mut ser = serde_json::Serializer::with_formatter(out, PyFormatter);
    // Writing into a Vec cannot fail, and our values have string keys only.
    let _ = value.serialize(&mut ser);
}

/// `value` as Python-spaced JSON text.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write(value, &mut out);
    out
}

/// `value` as a Python-spaced JSON string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    // serde_json only ever writes UTF-8.
    String::from_utf8(to_vec(value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_spacing() {
        assert_eq!(to_string(&json!([true, {}])), "[true, {}]");
        assert_eq!(
            to_string(&json!([false, {"msg": "x", "n": [1, 2]}])),
            r#"[false, {"msg": "x", "n": [1, 2]}]"#
        );
        assert_eq!(to_string(&json!("a\"\n\u{e9}")), "\"a\\\"\\n\u{e9}\"");
    }
}
