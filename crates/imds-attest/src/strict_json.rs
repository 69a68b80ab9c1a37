//! JSON parsing that rejects an object giving the same key twice.
//!
//! `serde_json::Value` keeps the last of two equal keys, so `{"nonce":"a","nonce":"b"}` would
//! mean "b" here and "a" to another parser. Such a document is ambiguous and is refused.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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
    parse_as::<UniqueKeys>(bytes).map(|UniqueKeys(value)| value)
}

/// Parses `bytes` as one JSON value that should be an object with the keys `names` (the
/// others kept aside), refusing duplicate keys at any depth: as [`parse`], without building a
/// map for the keys the caller knows.
pub(crate) fn parse_object<const N: usize>(
    bytes: &[u8],
    names: &'static [&'static str; N],
) -> Result<Object<N>, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let object = ObjectSeed(names)
        .deserialize(&mut deserializer)
        .and_then(|object| deserializer.end().map(|()| object));
    object.map_err(json_error)
}

fn parse_as<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, JsonError> {
    serde_json::from_slice::<T>(bytes).map_err(json_error)
}

fn json_error(err: serde_json::Error) -> JsonError {
    let text = err.to_string();
    match text.strip_prefix(DUPLICATE_MARK) {
        Some(rest) => {
            // serde_json appends " at line L column C": keep only the key.
            let key = rest.rsplit_once(" at line ").map_or(rest, |(k, _)| k);
            JsonError::DuplicateKey(key.to_owned())
        }
        None => JsonError::Syntax(text),
    }
}

fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("{DUPLICATE_MARK}{key}"))
}

/// A JSON value read as an object with known keys.
#[derive(Debug)]
pub(crate) enum Object<const N: usize> {
    /// It is an object: the values of the known keys, in the order of their names, and the
    /// other members.
    Fields {
        known: [Option<Value>; N],
        other: Map<String, Value>,
    },
    /// It is some other value (checked all the same).
    NotAnObject,
}

/// Reads an [`Object`] with these key names.
struct ObjectSeed<const N: usize>(&'static [&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for ObjectSeed<N> {
    type Value = Object<N>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Object<N>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for ObjectSeed<N> {
    type Value = Object<N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Object<N>, A::Error> {
        let mut known: [Option<Value>; N] = std::array::from_fn(|_| None);
        let mut other = Map::new();
        while let Some(Key(key)) = access.next_key()? {
            let slot = self
                .0
                .iter()
                .position(|name| *name == key)
                .and_then(|i| known.get_mut(i));
            match slot {
                Some(Some(_)) => return Err(duplicate(&key)),
                Some(slot) => *slot = Some(access.next_value::<UniqueKeys>()?.0),
                None if other.contains_key(key.as_ref()) => return Err(duplicate(&key)),
                None => {
                    let UniqueKeys(value) = access.next_value()?;
                    other.insert(key.into_owned(), value);
                }
            }
        }
        Ok(Object::Fields { known, other })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Object<N>, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(Object::NotAnObject)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Object<N>, E> {
        Ok(Object::NotAnObject)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Object<N>, E> {
        Ok(Object::NotAnObject)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Object<N>, E> {
        Ok(Object::NotAnObject)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Object<N>, E> {
        Ok(Object::NotAnObject)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Object<N>, E> {
        Ok(Object::NotAnObject)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Object<N>, E> {
        Ok(Object::NotAnObject)
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
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
                return Err(duplicate(&key));
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
