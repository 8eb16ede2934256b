//! Incremental UTF-8 validation across WebSocket fragments, failing as soon as the bytes
//! seen so far cannot be the start of valid UTF-8.

/// The bytes are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Validator state: the bytes of a code point that is split across chunks (at most 3).
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    pending: [u8; 4],
    pending_len: usize,
}

impl Utf8Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn reset(&mut self) {
        self.pending_len = 0;
    }

    /// Validates the next chunk; an error as soon as the data is known to be invalid.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), InvalidUtf8> {
        let mut start = 0;
        if self.pending_len > 0 {
            // Complete the split code point with up to 3 more bytes.
            let take = data.len().min(4 - self.pending_len);
            let mut tmp = [0u8; 8];
            tmp[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
            tmp[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            let tmp = &tmp[..self.pending_len + take];
            match std::str::from_utf8(tmp) {
                Ok(_) => {
                    self.pending_len = 0;
                    return self.feed(&data[take..]);
                }
                Err(e) if e.valid_up_to() >= self.pending_len => {
                    // First code point done; the rest of `data` is checked below.
                    start = e.valid_up_to() - self.pending_len;
                    self.pending_len = 0;
                }
                Err(e) if e.error_len().is_none() => {
                    // Still incomplete, but a valid prefix.
                    self.pending[..tmp.len()].copy_from_slice(tmp);
                    self.pending_len = tmp.len();
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        let rest = &data[start..];
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &rest[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Whether the text so far ends on a code-point boundary.
    pub fn is_complete(&self) -> bool {
        self.pending_len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_code_points() {
        let text = "h\u{e9}llo \u{20ac} \u{1f600}".as_bytes();
        for cut in 0..text.len() {
            let mut v = Utf8Validator::new();
            v.feed(&text[..cut]).unwrap();
            v.feed(&text[cut..]).unwrap();
            assert!(v.is_complete());
        }
        let mut v = Utf8Validator::new();
        for b in text {
            v.feed(std::slice::from_ref(b)).unwrap();
        }
        assert!(v.is_complete());
    }

    #[test]
    fn fails_fast() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xce, 0xba, 0xe1]).is_ok());
        assert!(!v.is_complete());
        // 0xf4 0x90 starts a code point above U+10FFFF: invalid at once.
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xf4]).is_ok());
        assert!(v.feed(&[0x90]).is_err());
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xc0, 0x80]).is_err());
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xed, 0xa0, 0x80]).is_err());
    }
}
