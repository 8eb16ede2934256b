//! Channel and user names: 1 to 128 bytes of printable ASCII without spaces.

/// Longest name accepted.
pub const MAX_NAME: usize = 128;

/// Whether `name` may be used as a channel or user name.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("chat"));
        assert!(is_valid_name("a/b:c-d_e.f~!"));
        assert!(is_valid_name(&"x".repeat(128)));
        assert!(!is_valid_name(&"x".repeat(129)));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name("tab\t"));
        assert!(!is_valid_name("caf\u{e9}"));
    }
}
