//! A map that holds at most a fixed number of entries: what the HTTP fetcher remembers, so
//! that documents sent by the thousand cannot grow it. When full, an insert first drops the
//! entries that have expired, then the oldest one.

use std::collections::HashMap;
use std::hash::Hash;

/// At most `max` entries, each stamped with the order it was inserted in.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    max: usize,
    next: u64,
    entries: HashMap<K, (u64, V)>,
}

impl<K: Hash + Eq, V> BoundedMap<K, V> {
    /// An empty map of at most `max` entries (at least one).
    pub(crate) fn new(max: usize) -> BoundedMap<K, V> {
        BoundedMap {
            max: max.max(1),
            next: 0,
            entries: HashMap::new(),
        }
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, v)| v)
    }

    /// Inserts `value` for `key` (as the newest entry); when that would exceed the bound, first
    /// drops the entries `expired` says are, then the oldest ones.
    pub(crate) fn insert(&mut self, key: K, value: V, expired: impl Fn(&V) -> bool) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.max {
            self.entries.retain(|_, (_, v)| !expired(v));
            // Stamps are unique: this drops exactly the oldest entry.
            if self.entries.len() >= self.max {
                if let Some(oldest) = self.entries.values().map(|(at, _)| *at).min() {
                    self.entries.retain(|_, (at, _)| *at != oldest);
                }
            }
        }
        let stamp = self.next;
        self.next = self.next.wrapping_add(1);
        self.entries.insert(key, (stamp, value));
    }

    /// How many entries it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_holds_more_than_its_bound_and_drops_the_oldest_first() {
        let mut map = BoundedMap::new(8);
        for i in 0..80u32 {
            map.insert(i, i, |_| false);
            assert!(map.len() <= 8, "{}", map.len());
        }
        assert_eq!(map.len(), 8);
        assert_eq!(map.get(&71), None);
        assert_eq!(map.get(&72), Some(&72));
        assert_eq!(map.get(&79), Some(&79));
    }

    #[test]
    fn drops_expired_entries_before_the_oldest_live_one() {
        let mut map = BoundedMap::new(3);
        map.insert("live", 1, |_| false);
        map.insert("expired", 0, |_| false);
        map.insert("newer", 1, |_| false);
        map.insert("newest", 1, |v| *v == 0);
        assert_eq!(map.get(&"expired"), None);
        assert_eq!(map.get(&"live"), Some(&1));
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn replacing_a_key_makes_no_room() {
        let mut map = BoundedMap::new(2);
        map.insert("a", 1, |_| false);
        map.insert("b", 1, |_| false);
        map.insert("a", 2, |_| false);
        assert_eq!((map.get(&"a"), map.get(&"b")), (Some(&2), Some(&1)));
    }
}
