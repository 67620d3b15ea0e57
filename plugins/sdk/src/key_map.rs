//! [`KeyMap`]: per-item state in little more memory than the entries
//! themselves.
//!
//! A rule keeps one entry per data item, and a log can hold millions. A
//! hash map that doubles holds, at its peak, a table at most seven-eighths
//! full and the table it is copying from: in a plugin's linear memory,
//! which never shrinks, that is 2-3 times the entries' bytes. This map
//! cuts the key space into [`SEGMENTS`] tables by the key's bits, so a
//! growth copies one segment's entries only, and grows a segment by an
//! eighth at a time (doubling while it is smaller than a chunk), so each
//! stays between 83% and 94% full. A segment
//! larger than [`CHUNK_BUCKETS`] buckets is made of chunks of that many, all
//! one size, so the memory one segment's growth frees fits the next one's
//! chunks, rather than staying behind as holes too small to use. A segment is
//! a cuckoo table: each key has two buckets of four slots, found from its
//! two halves, so a lookup reads at most two buckets however full the
//! table is.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DataKey;

/// How many tables the keys are cut into: a growth copies about one
/// in this many entries.
const SEGMENTS: usize = 256;

/// Slots in a bucket.
const SLOTS: usize = 4;

/// Buckets in a chunk of a segment (a power of two: 1,280 bytes of `u32`
/// values, 2 KiB of 16-byte ones).
const CHUNK_BUCKETS: usize = 16;

/// A segment grows once it is this full (in sixteenths), or when an
/// insert finds no place within [`MAX_KICKS`] moves.
const MAX_FILL_SIXTEENTHS: usize = 15;

/// Entries an insert may move to make room before the segment grows.
const MAX_KICKS: usize = 128;

/// The key that marks a free slot. A real key equal to it (a chance of
/// 2^-128) is kept apart, in `KeyMap::empty_key`.
const FREE: DataKey = DataKey::from_halves([0, 0]);

/// A map keyed by [`DataKey`]: what a rule keys its per-item state by.
///
/// The key is a keyed hash already, so nothing is hashed again. Memory is
/// about `(16 + size_of::<V>()) / 0.88` bytes an entry at any size (see
/// the module doc), where a doubling hash map needs two to three times
/// the entry. Iteration order follows the keys, which are random per
/// audit: a rule that reports from its state in `finish` sorts first (by
/// [`EventRef`](crate::EventRef), say).
///
/// It saves and restores (serde) as a map, as a `HashMap` would.
pub struct KeyMap<V> {
    /// Empty until the first insert, then [`SEGMENTS`] long.
    segments: Vec<Segment<V>>,
    /// The value of the one key that looks like a free slot, if stored.
    empty_key: Option<V>,
    len: usize,
}

/// One segment: a cuckoo table of `buckets` buckets, held in `chunks`
/// (one of `buckets` buckets up to [`CHUNK_BUCKETS`], then whole chunks).
struct Segment<V> {
    chunks: Vec<Box<[Bucket<V>]>>,
    buckets: usize,
    len: usize,
}

/// Four slots, keys and values together so that a lookup's bucket is one
/// place in memory.
struct Bucket<V> {
    keys: [DataKey; SLOTS],
    values: [V; SLOTS],
}

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap {
            segments: Vec::new(),
            empty_key: None,
            len: 0,
        }
    }
}

impl<V> KeyMap<V> {
    /// How many keys the map holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: &DataKey) -> Option<&V> {
        if *key == FREE {
            return self.empty_key.as_ref();
        }
        let segment = self.segments.get(segment_of(key))?;
        let (bucket, slot) = segment.find(key)?;
        Some(&segment.bucket(bucket).values[slot])
    }

    /// The value of `key`, to change in place, if it has one.
    pub fn get_mut(&mut self, key: &DataKey) -> Option<&mut V> {
        if *key == FREE {
            return self.empty_key.as_mut();
        }
        let segment = self.segments.get_mut(segment_of(key))?;
        let (bucket, slot) = segment.find(key)?;
        Some(&mut segment.bucket_mut(bucket).values[slot])
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &DataKey) -> bool {
        self.get(key).is_some()
    }

    /// Every key and its value, in no particular order (see the type's doc).
    pub fn iter(&self) -> impl Iterator<Item = (&DataKey, &V)> {
        let empty_key = self.empty_key.as_ref().map(|value| (&FREE, value));
        let stored = (self.segments.iter())
            .flat_map(|segment| &segment.chunks)
            .flat_map(|chunk| chunk.iter())
            .flat_map(|bucket| bucket.keys.iter().zip(&bucket.values))
            .filter(|(key, _)| **key != FREE);
        empty_key.into_iter().chain(stored)
    }

    /// Every value, in the order of [`KeyMap::iter`].
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }

    /// Slots the map has room for: its memory is this many keys and values.
    pub fn capacity(&self) -> usize {
        (self.segments.iter())
            .map(|segment| segment.buckets * SLOTS)
            .sum()
    }
}

impl<V: Default> KeyMap<V> {
    /// Sets `key`'s value to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: DataKey, value: V) -> Option<V> {
        if key == FREE {
            let old = self.empty_key.replace(value);
            self.len += usize::from(old.is_none());
            return old;
        }
        if self.segments.is_empty() {
            self.segments = (0..SEGMENTS).map(|_| Segment::default()).collect();
        }
        let old = self.segments[segment_of(&key)].insert(key, value);
        self.len += usize::from(old.is_none());
        old
    }
}

impl<V> Default for Segment<V> {
    fn default() -> Self {
        Segment {
            chunks: Vec::new(),
            buckets: 0,
            len: 0,
        }
    }
}

impl<V> Segment<V> {
    fn bucket(&self, bucket: usize) -> &Bucket<V> {
        &self.chunks[bucket / CHUNK_BUCKETS][bucket % CHUNK_BUCKETS]
    }

    fn bucket_mut(&mut self, bucket: usize) -> &mut Bucket<V> {
        &mut self.chunks[bucket / CHUNK_BUCKETS][bucket % CHUNK_BUCKETS]
    }

    /// The bucket and slot holding `key`, which is not [`FREE`]. The second
    /// bucket is read only if the first does not hold it.
    fn find(&self, key: &DataKey) -> Option<(usize, usize)> {
        let [first, second] = self.buckets_of(key)?;
        if let Some(slot) = self.bucket(first).slot_of(key) {
            return Some((first, slot));
        }
        Some((second, self.bucket(second).slot_of(key)?))
    }

    /// `key`'s two buckets, one from each half of the key; none in a
    /// segment with no bucket.
    #[inline]
    fn buckets_of(&self, key: &DataKey) -> Option<[usize; 2]> {
        (self.buckets > 0).then(|| key.halves().map(|half| scale(half, self.buckets)))
    }
}

impl<V> Bucket<V> {
    /// The slot holding `key`, if this bucket has it.
    fn slot_of(&self, key: &DataKey) -> Option<usize> {
        self.keys.iter().position(|k| k == key)
    }
}

impl<V: Default> Segment<V> {
    /// Sets `key`'s value (`key` is not [`FREE`]), growing as it must,
    /// and returns the value it replaces. One pass over the key's two
    /// buckets looks for the key and for a free slot for it at once, so a
    /// new key that finds room costs no second look.
    fn insert(&mut self, key: DataKey, value: V) -> Option<V> {
        let mut free = None;
        for bucket in self.buckets_of(&key).into_iter().flatten() {
            let keys = &self.bucket(bucket).keys;
            if let Some(slot) = keys.iter().position(|k| *k == key) {
                let old = &mut self.bucket_mut(bucket).values[slot];
                return Some(std::mem::replace(old, value));
            }
            if free.is_none() {
                free = keys
                    .iter()
                    .position(|k| *k == FREE)
                    .map(|slot| (bucket, slot));
            }
        }
        self.len += 1;
        if self.len * 16 > self.buckets * SLOTS * MAX_FILL_SIXTEENTHS {
            self.grow(vec![(key, value)]);
        } else if let Some((bucket, slot)) = free {
            let bucket = self.bucket_mut(bucket);
            bucket.keys[slot] = key;
            bucket.values[slot] = value;
        } else if let Err(homeless) = self.place((key, value)) {
            self.grow(vec![homeless]);
        }
        None
    }

    /// Puts an entry in a free slot of one of its buckets, moving others to
    /// their other bucket to make room; the entry left without a place
    /// after [`MAX_KICKS`] moves (perhaps another one) comes back.
    fn place(&mut self, mut entry: (DataKey, V)) -> Result<(), (DataKey, V)> {
        // The bucket the entry in hand was just moved out of, which it
        // should not go back to.
        let mut left = usize::MAX;
        for kick in 0..MAX_KICKS {
            let Some([first, second]) = self.buckets_of(&entry.0) else {
                return Err(entry);
            };
            for bucket in [first, second] {
                let bucket = self.bucket_mut(bucket);
                if let Some(slot) = bucket.keys.iter().position(|k| *k == FREE) {
                    bucket.keys[slot] = entry.0;
                    bucket.values[slot] = entry.1;
                    return Ok(());
                }
            }
            let full = if first == left { second } else { first };
            // Which slot to move varies with the walk, so that a cycle of
            // moves does not repeat itself.
            let slot = (kick + entry.0.halves()[1] as usize) % SLOTS;
            let bucket = self.bucket_mut(full);
            std::mem::swap(&mut bucket.keys[slot], &mut entry.0);
            std::mem::swap(&mut bucket.values[slot], &mut entry.1);
            left = full;
        }
        Err(entry)
    }

    /// Rebuilds the segment an eighth larger (and larger again while its
    /// entries and `homeless`, entries it holds none of, do not all find
    /// a place), moving the entries chunk by chunk, each chunk freed as it
    /// is emptied.
    fn grow(&mut self, mut homeless: Vec<(DataKey, V)>) {
        let mut old = std::mem::take(&mut self.chunks);
        loop {
            self.buckets = grown(self.buckets);
            self.chunks = chunks(self.buckets);
            match self.refill(&mut old, &mut homeless) {
                Ok(()) => return,
                Err(()) => {
                    let tried = std::mem::take(&mut self.chunks);
                    homeless.extend(tried.into_iter().flat_map(entries));
                }
            }
        }
    }

    /// Places `homeless`, then the entries of `old`; on the first that
    /// finds no place, stops with it and those not yet placed in `homeless`.
    fn refill(
        &mut self,
        old: &mut Vec<Box<[Bucket<V>]>>,
        homeless: &mut Vec<(DataKey, V)>,
    ) -> Result<(), ()> {
        while let Some(entry) = homeless.pop() {
            if let Err(entry) = self.place(entry) {
                homeless.push(entry);
                return Err(());
            }
        }
        while let Some(chunk) = old.pop() {
            let mut moving = entries(chunk);
            while let Some(entry) = moving.next() {
                if let Err(entry) = self.place(entry) {
                    homeless.push(entry);
                    homeless.extend(moving);
                    return Err(());
                }
            }
        }
        Ok(())
    }
}

/// The size a segment of `buckets` buckets grows to: an eighth more (a
/// bucket more while that is none), in whole chunks past one chunk.
fn grown(buckets: usize) -> usize {
    if buckets < CHUNK_BUCKETS {
        (buckets * 2).clamp(1, CHUNK_BUCKETS)
    } else {
        (buckets + buckets / 8).div_ceil(CHUNK_BUCKETS) * CHUNK_BUCKETS
    }
}

/// Empty chunks for `buckets` buckets (see [`Segment`]).
fn chunks<V: Default>(buckets: usize) -> Vec<Box<[Bucket<V>]>> {
    let chunk = |len: usize| (0..len).map(|_| Bucket::default()).collect();
    if buckets <= CHUNK_BUCKETS {
        vec![chunk(buckets)]
    } else {
        (0..buckets / CHUNK_BUCKETS)
            .map(|_| chunk(CHUNK_BUCKETS))
            .collect()
    }
}

/// The entries a chunk holds, taking it apart.
fn entries<V>(chunk: Box<[Bucket<V>]>) -> impl Iterator<Item = (DataKey, V)> {
    (chunk.into_vec().into_iter())
        .flat_map(|bucket| bucket.keys.into_iter().zip(bucket.values))
        .filter(|(key, _)| *key != FREE)
}

impl<V: Default> Default for Bucket<V> {
    fn default() -> Self {
        Bucket {
            keys: [FREE; SLOTS],
            values: std::array::from_fn(|_| V::default()),
        }
    }
}

/// The segment of `key`: its first half's low bits (the bucket comes from
/// the same half's high bits, so the two do not follow each other).
fn segment_of(key: &DataKey) -> usize {
    key.halves()[0] as usize % SEGMENTS
}

/// The bucket a half of a key picks in a segment of `buckets` buckets:
/// the half's top 32 bits scaled to the segment's size, without a
/// division, and without the 128-bit product that a wasm32 guest computes
/// by a library call. A segment never reaches 2^32 buckets (that would be
/// 2^34 entries, in a linear memory of 2^32 bytes).
#[inline]
fn scale(half: u64, buckets: usize) -> usize {
    (((half >> 32) * buckets as u64) >> 32) as usize
}

impl<V: fmt::Debug> fmt::Debug for KeyMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Serialize> Serialize for KeyMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // A length up front: postcard, the states' encoding, needs it.
        let mut map = serializer.serialize_map(Some(self.len))?;
        for (key, value) in self.iter() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de> + Default> Deserialize<'de> for KeyMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de> + Default> Visitor<'de> for Entries<V> {
            type Value = KeyMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of data keys to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<KeyMap<V>, A::Error> {
                let mut map = KeyMap::default();
                while let Some((key, value)) = access.next_entry()? {
                    map.insert(key, value);
                }
                Ok(map)
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Keys as the host's keyed hash gives them: well mixed, both halves.
    fn key(n: u64) -> DataKey {
        let mix = |mut x: u64| {
            x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^ (x >> 31)
        };
        DataKey::from_halves([mix(n), mix(n ^ 0x9e37_79b9_7f4a_7c15)])
    }

    #[test]
    fn behaves_as_a_hash_map_over_inserts_replacements_and_updates() {
        let mut map = KeyMap::<u64>::default();
        let mut model = HashMap::new();
        for n in 0..60_000u64 {
            // Every third insert replaces an earlier key's value.
            let k = key(if n % 3 == 2 { n / 3 } else { n });
            assert_eq!(map.insert(k, n), model.insert(k, n), "insert {n}");
            if n % 5 == 0 {
                *map.get_mut(&k).unwrap() += 1;
                *model.get_mut(&k).unwrap() += 1;
            }
        }
        assert_eq!(map.len(), model.len());
        for n in 0..70_000u64 {
            assert_eq!(map.get(&key(n)), model.get(&key(n)), "get {n}");
        }
        let mut seen: Vec<(DataKey, u64)> = map.iter().map(|(k, v)| (*k, *v)).collect();
        let mut expected: Vec<(DataKey, u64)> = model.into_iter().collect();
        seen.sort();
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn stays_more_than_four_fifths_full_as_it_grows() {
        let mut map = KeyMap::<u32>::default();
        let mut fullest_gap: f64 = 0.0;
        for n in 0..400_000u64 {
            map.insert(key(n), n as u32);
            if n >= 200_000 && n % 997 == 0 {
                let slots_per_entry = map.capacity() as f64 / map.len() as f64;
                fullest_gap = fullest_gap.max(slots_per_entry);
            }
        }
        // 1 / 0.8: the segments grow by an eighth from at most 15/16 full.
        assert!(fullest_gap < 1.25, "{fullest_gap} slots an entry");
    }

    #[test]
    fn the_key_that_looks_free_is_kept_like_any_other() {
        let mut map = KeyMap::<u8>::default();
        assert_eq!(map.get(&FREE), None);
        assert_eq!(map.insert(FREE, 1), None);
        assert_eq!(map.insert(key(1), 2), None);
        assert_eq!(map.insert(FREE, 3), Some(1));
        assert_eq!((map.len(), map.get(&FREE)), (2, Some(&3)));
        let mut values: Vec<u8> = map.values().copied().collect();
        values.sort();
        assert_eq!(values, [2, 3]);
    }

    #[test]
    fn saves_as_a_hash_map_saves_and_restores_whole() {
        let mut map = KeyMap::<u32>::default();
        let mut model = HashMap::new();
        for n in 0..1_000u64 {
            map.insert(key(n), n as u32);
            model.insert(key(n), n as u32);
        }
        let saved = postcard::to_allocvec(&map).unwrap();
        let restored: KeyMap<u32> = postcard::from_bytes(&saved).unwrap();
        let as_model: HashMap<DataKey, u32> = postcard::from_bytes(&saved).unwrap();
        assert_eq!(as_model, model);
        assert_eq!(restored.len(), 1_000);
        assert!((0..1_000).all(|n| restored.get(&key(n)) == Some(&(n as u32))));
    }
}
