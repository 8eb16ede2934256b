//! The fields of a REST call, from a query string, a urlencoded body or a JSON object body.
//!
//! Form values are text (JSON values are written as JSON text, as Hookbox expects); a JSON
//! body may give values directly. Empty form values count as absent, as they did for
//! Hookbox (Python's `parse_qs`), and the first of repeated names wins.

use serde_json::{Map, Value};

/// One field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// From a query string or urlencoded body.
    Text(String),
    /// From a JSON object body.
    Json(Value),
}

impl FieldValue {
    /// The value as text: form text as is, a JSON string unquoted, other JSON as JSON text.
    pub fn into_text(self) -> String {
        match self {
            FieldValue::Text(s) | FieldValue::Json(Value::String(s)) => s,
            FieldValue::Json(v) => crate::json::to_string(&v),
        }
    }

    /// The value as JSON: form text is parsed, a JSON body value is taken as it is.
    pub fn into_json(self) -> Result<Value, FieldValue> {
        match self {
            FieldValue::Text(s) => serde_json::from_str(&s).map_err(|_| FieldValue::Text(s)),
            FieldValue::Json(v) => Ok(v),
        }
    }

    /// Whether the value says yes (`1`, `true`), as `send_hook=1` does.
    pub fn is_true(&self) -> bool {
        match self {
            FieldValue::Text(s) => s == "1" || s.eq_ignore_ascii_case("true"),
            FieldValue::Json(v) => v.as_bool() == Some(true) || v.as_u64() == Some(1),
        }
    }
}

/// The fields of one call, in the order they came.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    items: Vec<(String, FieldValue)>,
}

impl Fields {
    /// From decoded form pairs; empty values are dropped.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Fields {
        let mut f = Fields::default();
        for (k, v) in pairs {
            if !v.is_empty() {
                f.push(k, FieldValue::Text(v));
            }
        }
        f
    }

    /// From a JSON object body; `null` values are dropped.
    pub fn from_json(obj: Map<String, Value>) -> Fields {
        let mut f = Fields::default();
        for (k, v) in obj {
            if !v.is_null() {
                f.push(k, FieldValue::Json(v));
            }
        }
        f
    }

    /// Adds a field unless one of that name is already there (first wins).
    pub fn push(&mut self, name: String, value: FieldValue) {
        if !self.items.iter().any(|(k, _)| *k == name) {
            self.items.push((name, value));
        }
    }

    /// Adds the fields of `other` that this one lacks.
    pub fn merge(&mut self, other: Fields) {
        for (k, v) in other.items {
            self.push(k, v);
        }
    }

    /// Removes and returns a field.
    pub fn take(&mut self, name: &str) -> Option<FieldValue> {
        let i = self.items.iter().position(|(k, _)| k == name)?;
        Some(self.items.remove(i).1)
    }

    /// Removes a field and gives it as text.
    pub fn take_text(&mut self, name: &str) -> Option<String> {
        self.take(name).map(FieldValue::into_text)
    }

    /// Whatever fields are left.
    pub fn into_items(self) -> Vec<(String, FieldValue)> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_drop_blanks_and_keep_the_first() {
        let mut f = Fields::from_pairs(vec![
            ("a".into(), "".into()),
            ("b".into(), "1".into()),
            ("b".into(), "2".into()),
        ]);
        assert_eq!(f.take("a"), None);
        assert_eq!(f.take_text("b").as_deref(), Some("1"));
        assert_eq!(f.take("b"), None);
    }

    #[test]
    fn json_values() {
        let Value::Object(obj) = json!({"payload": {"a": 1}, "name": "x", "n": 2, "z": null})
        else {
            unreachable!()
        };
        let mut f = Fields::from_json(obj);
        assert_eq!(f.take("payload").unwrap().into_json(), Ok(json!({"a": 1})));
        assert_eq!(f.take_text("name").as_deref(), Some("x"));
        assert_eq!(f.take_text("n").as_deref(), Some("2"));
        assert_eq!(f.take("z"), None);
        assert!(FieldValue::Text("{".into()).into_json().is_err());
        assert!(FieldValue::Text("1".into()).is_true());
        assert!(!FieldValue::Text("0".into()).is_true());
    }
}
