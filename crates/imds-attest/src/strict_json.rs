//! JSON parsing that rejects an object giving the same key twice.
//!
//! `serde_json::Value` keeps the last of two equal keys, so `{"nonce":"a","nonce":"b"}` would
//! mean "b" here and "a" to another parser. Such a document is ambiguous and is refused.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why [`parse`] refused its input.
#[derive(Debug)]
pub(crate) enum JsonError {
    /// A key appears twice in one object.
    DuplicateKey(String),
    /// Any other syntax or depth error.
    Syntax(String),
}

const DUPLICATE_MARK: &str = "\u{0}duplicate key:";

/// Parses `bytes` as one JSON value, refusing duplicate keys at any depth.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    match serde_json::from_slice::<UniqueKeys>(bytes) {
        Ok(UniqueKeys(value)) => Ok(value),
        Err(err) => {
            let text = err.to_string();
            match text.strip_prefix(DUPLICATE_MARK) {
                Some(rest) => {
                    // serde_json appends " at line L column C": keep only the key.
                    let key = rest.rsplit_once(" at line ").map_or(rest, |(k, _)| k);
                    Err(JsonError::DuplicateKey(key.to_owned()))
                }
                None => Err(JsonError::Syntax(text)),
            }
        }
    }
}

struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("{DUPLICATE_MARK}{key}")));
            }
            let UniqueKeys(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicate_key_at_top_level_and_nested() {
        for (input, key) in [
            (r#"{"nonce":"a","nonce":"b"}"#, "nonce"),
            (r#"{"plan":{"sku":"1","sku":"2"}}"#, "sku"),
            (r#"[{"x":1},{"y":1,"y":2}]"#, "y"),
        ] {
            match parse(input.as_bytes()) {
                Err(JsonError::DuplicateKey(k)) => assert_eq!(k, key, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn keeps_distinct_keys_and_values() {
        let v = parse(br#"{"a":1,"b":[true,null,"s",1.5],"c":{"d":-2}}"#);
        assert!(
            matches!(v, Ok(Value::Object(ref m)) if m.len() == 3),
            "{v:?}"
        );
    }

    #[test]
    fn rejects_trailing_garbage_and_deep_nesting() {
        assert!(matches!(parse(b"{} x"), Err(JsonError::Syntax(_))));
        let deep = "[".repeat(10_000);
        match parse(deep.as_bytes()) {
            Err(JsonError::Syntax(msg)) => assert!(msg.contains("recursion limit"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}
