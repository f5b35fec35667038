use std::cell::RefCell;

use super::*;
use crate::MemoryStore;

const K: u64 = COMPACT_EVERY;

/// Keys stored under the set's prefix.
fn keys_under(store: &MemoryStore, prefix: &str) -> usize {
    let prefix = format!("{prefix}/");
    store
        .keys()
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .count()
}

fn base(store: &MemoryStore, prefix: &str) -> Base {
    store
        .get_json(&format!("{prefix}/base"))
        .unwrap()
        .unwrap_or_default()
}

fn members(set: &LogSet<'_, impl Store>) -> BTreeMap<String, u64> {
    set.entries().unwrap()
}

/// Takes a slot without writing it: a writer in flight (or one that died).
fn take_slot(set: &LogSet<'_, impl Store>) -> u64 {
    set.store.increment(&set.seq_key(), 1).unwrap()
}

fn write_slot(set: &LogSet<'_, impl Store>, slot: u64, entry: &Entry<u64>) {
    set.store.set_json(&set.slot_key(slot), entry).unwrap();
}

/// A change that never compacts, whatever its slot: for schedules the test drives itself.
fn append_only(set: &LogSet<'_, impl Store>, entry: &Entry<u64>) {
    let slot = take_slot(set);
    write_slot(set, slot, entry);
}

fn add(key: &str, value: u64) -> Entry<u64> {
    Entry::Add {
        key: key.into(),
        value,
    }
}

fn remove(key: &str) -> Entry<u64> {
    Entry::Remove { key: key.into() }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn adds_and_removes_fold_to_the_current_set() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "room/lobby/members");
    set.add("alice", &1u64, 0).unwrap();
    set.add("bob", &2u64, 0).unwrap();
    set.remove("alice", 0).unwrap();
    set.add("carol", &3u64, 0).unwrap();
    assert_eq!(
        members(&set).into_iter().collect::<Vec<_>>(),
        vec![("bob".into(), 2), ("carol".into(), 3)]
    );
}

#[test]
fn a_taken_but_unwritten_slot_is_skipped() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    set.add("a", &(), 0).unwrap();
    store.increment("s/seq", 1).unwrap(); // a writer that crashed after taking its slot
    set.add("b", &(), 0).unwrap();
    let members: BTreeMap<String, ()> = set.entries().unwrap();
    assert_eq!(members.keys().cloned().collect::<Vec<_>>(), vec!["a", "b"]);
}

#[test]
fn an_empty_set_reads_empty_and_a_value_of_another_type_is_left_out() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    assert!(members(&set).is_empty());
    set.add("a", &1u64, 0).unwrap();
    set.add("b", &"text", 0).unwrap();
    assert_eq!(members(&set).into_keys().collect::<Vec<_>>(), vec!["a"]);
}

#[test]
fn the_key_count_stays_bounded_over_10000_add_remove_cycles() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    let mut model = BTreeMap::new();
    set.add("resident", &7u64, 0).unwrap();
    model.insert("resident".to_string(), 7);
    let mut most = 0;
    for i in 0..10_000u64 {
        let key = format!("k{}", i % 13);
        set.add(&key, &i, i).unwrap();
        model.insert(key.clone(), i);
        if i % 3 != 0 {
            set.remove(&key, i).unwrap();
            model.remove(&key);
        }
        most = most.max(keys_under(&store, "s"));
        if i % 211 == 0 {
            assert_eq!(members(&set), model, "after cycle {i}");
        }
    }
    assert_eq!(members(&set), model);
    assert!(most <= (3 * K + 3) as usize, "{most} keys at most");
    // What remains: seq, base, the slots the base still retires and those after it.
    let b = base(&store, "s");
    assert!(b.upto > 16_000 && b.gaps.is_empty(), "{b:?}");
}

#[test]
fn a_writer_in_flight_during_compaction_is_not_lost() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    set.add("early", &1, 0).unwrap();
    let late = take_slot(&set); // slot 2, taken before the compaction, written after it
    for i in 3..=K {
        set.add(&format!("x{i}"), &i, 1_000).unwrap();
        set.remove(&format!("x{i}"), 1_000).unwrap();
    }
    let b = base(&store, "s");
    assert!(b.upto >= K);
    assert_eq!(b.gaps, BTreeMap::from([(late, 1_000)]));
    assert!(!members(&set).contains_key("late"));

    write_slot(&set, late, &add("late", 2));
    assert_eq!(
        members(&set),
        BTreeMap::from([("early".into(), 1), ("late".into(), 2)])
    );

    // The next compactions fold it into the snapshot, then delete its slot.
    for i in 0..2 * K {
        set.add("y", &i, 2_000).unwrap();
    }
    set.remove("y", 2_000).unwrap();
    assert!(base(&store, "s").gaps.is_empty());
    assert_eq!(store.get(&set.slot_key(late)).unwrap(), None);
    assert_eq!(
        members(&set),
        BTreeMap::from([("early".into(), 1), ("late".into(), 2)])
    );
}

#[test]
fn a_slot_written_between_fold_and_check_is_folded_in_place() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    set.add("a", &1, 0).unwrap();
    let late = take_slot(&set);
    append_only(&set, &remove("a"));
    let compaction = set.begin(0).unwrap().unwrap();
    // The add lands before the compactor checks: it is folded at its slot, before the remove.
    write_slot(&set, late, &add("a", 2));
    assert_eq!(members(&set), BTreeMap::new());
    set.finish(set.check(compaction).unwrap().unwrap()).unwrap();
    assert!(base(&store, "s").gaps.is_empty());
    assert_eq!(members(&set), BTreeMap::new());
}

#[test]
fn an_abandoned_slot_stops_being_tracked_after_the_expiry() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    let dead = take_slot(&set);
    set.add("a", &1, 0).unwrap();
    assert!(set.compact(10).unwrap());
    assert_eq!(base(&store, "s").gaps, BTreeMap::from([(dead, 10)]));

    // Still waited for just before the expiry (the first sighting's time is kept)...
    set.add("b", &2, 0).unwrap();
    assert!(set.compact(10 + GAP_EXPIRY_MS - 1).unwrap());
    assert_eq!(base(&store, "s").gaps, BTreeMap::from([(dead, 10)]));

    // ...and forgotten after it: reads no longer fetch it.
    set.add("c", &3, 0).unwrap();
    assert!(set.compact(10 + GAP_EXPIRY_MS).unwrap());
    let b = base(&store, "s");
    assert!(b.gaps.is_empty());
    assert_eq!(b.pending(b.upto), Vec::<u64>::new());
    assert_eq!(members(&set).len(), 3);
}

#[test]
fn a_compactor_that_finds_the_snapshot_moved_gives_up() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    set.add("a", &1, 0).unwrap();
    let first = set.begin(0).unwrap().unwrap();
    append_only(&set, &add("b", 2));
    let second = set.begin(0).unwrap().unwrap();
    set.finish(set.check(second).unwrap().unwrap()).unwrap();
    let snapshot = base(&store, "s");
    assert!(set.check(first).unwrap().is_none());
    assert_eq!(base(&store, "s"), snapshot);
    assert_eq!(
        members(&set),
        BTreeMap::from([("a".into(), 1), ("b".into(), 2)])
    );
}

#[test]
fn an_older_snapshot_written_last_loses_nothing() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    let mut model = BTreeMap::new();
    for i in 0..3 * K {
        let key = format!("k{}", i % 5);
        append_only(&set, &add(&key, i));
        model.insert(key, i);
    }
    set.compact(0).unwrap(); // a snapshot with slots to retire
    append_only(&set, &remove("k1"));
    model.remove("k1");
    let older = set.begin(0).unwrap().unwrap();
    append_only(&set, &add("k9", 9));
    model.insert("k9".into(), 9);
    let newer = set.begin(0).unwrap().unwrap();
    // Both pass their check before either writes; the older one writes last.
    let older = set.check(older).unwrap().unwrap();
    let newer = set.check(newer).unwrap().unwrap();
    set.finish(newer).unwrap();
    set.finish(older).unwrap();
    assert_eq!(members(&set), model);

    // The slot only the newer snapshot held is folded again by the next compactions.
    for i in 0..3 * K {
        let key = format!("m{}", i % 3);
        set.add(&key, &i, 0).unwrap();
        model.insert(key, i);
        assert_eq!(members(&set), model);
    }
    assert!(keys_under(&store, "s") <= (3 * K + 3) as usize);
}

/// The window the module documents: a stale snapshot written after two whole later
/// compactions loses the changes between its `upto` and theirs. Kept as a test so that the
/// documentation stays true.
#[test]
fn a_stale_snapshot_overtaken_by_two_compactions_loses_the_changes_between() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    append_only(&set, &add("a", 1));
    let stale = set.check(set.begin(0).unwrap().unwrap()).unwrap().unwrap();
    append_only(&set, &add("b", 2));
    assert!(set.compact(0).unwrap());
    append_only(&set, &add("c", 3));
    assert!(set.compact(0).unwrap()); // deletes the slot of "b"
    set.finish(stale).unwrap();
    assert!(!members(&set).contains_key("b"));
}

#[test]
fn random_changes_fold_like_a_plain_map() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut model: BTreeMap<String, u64> = BTreeMap::new();
    // Writers in flight: (slot, entry, the model change once written). Each touches a key of
    // its own, so where its change lands in the order cannot change the outcome.
    let mut in_flight: Vec<(u64, Entry<u64>, Option<u64>, String)> = Vec::new();
    let mut own = 0u64;
    let mut now = 0u64;
    for step in 0..6_000u64 {
        // Slower than the gap expiry: every writer here is alive.
        now += rng.below(10);
        match rng.below(20) {
            0 => {
                own += 1;
                let key = format!("own{own}");
                let slot = take_slot(&set);
                in_flight.push((slot, add(&key, own), Some(own), key));
            }
            1 if !in_flight.is_empty() => {
                let (slot, entry, value, key) =
                    in_flight.remove(rng.below(in_flight.len() as u64) as usize);
                write_slot(&set, slot, &entry);
                match value {
                    Some(v) => {
                        model.insert(key.clone(), v);
                        // Its removal will also be written late.
                        let slot = take_slot(&set);
                        in_flight.push((slot, remove(&key), None, key));
                    }
                    None => {
                        model.remove(&key);
                    }
                }
            }
            2 => {
                set.compact(now).unwrap();
            }
            n => {
                let key = format!("k{}", rng.below(17));
                if n % 2 == 0 {
                    set.remove(&key, now).unwrap();
                    model.remove(&key);
                } else {
                    let value = rng.next();
                    set.add(&key, &value, now).unwrap();
                    model.insert(key, value);
                }
            }
        }
        assert_eq!(members(&set), model, "after step {step}");
    }
    for (slot, entry, value, key) in in_flight.drain(..) {
        write_slot(&set, slot, &entry);
        match value {
            Some(v) => model.insert(key, v),
            None => model.remove(&key),
        };
    }
    assert_eq!(members(&set), model);
}

/// Two compactors whose steps interleave at random with the writes. The schedule never lets
/// a checked compactor sit through two whole compactions of the other (the documented window).
#[test]
fn two_interleaved_compactors_lose_nothing() {
    enum State {
        Idle,
        Begun(Compaction),
        Checked(Ready, u32),
    }
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut model: BTreeMap<String, u64> = BTreeMap::new();
    let mut compactors = [State::Idle, State::Idle];
    let mut written = 0;
    for step in 0..20_000u64 {
        let who = rng.below(2) as usize;
        match rng.below(8) {
            0 => {
                compactors[who] = match std::mem::replace(&mut compactors[who], State::Idle) {
                    State::Idle => match set.begin(0).unwrap() {
                        Some(c) => State::Begun(c),
                        None => State::Idle,
                    },
                    State::Begun(c) => match set.check(c).unwrap() {
                        Some(ready) => State::Checked(ready, 0),
                        None => State::Idle,
                    },
                    State::Checked(ready, _) => {
                        let other = &mut compactors[1 - who];
                        if let State::Checked(_, finishes) = other {
                            if *finishes == 1 {
                                // The other must write before a second compaction overtakes it.
                                if let State::Checked(r, _) = std::mem::replace(other, State::Idle)
                                {
                                    set.finish(r).unwrap();
                                    written += 1;
                                }
                            } else {
                                *finishes += 1;
                            }
                        }
                        set.finish(ready).unwrap();
                        written += 1;
                        State::Idle
                    }
                };
            }
            n => {
                let key = format!("k{}", rng.below(11));
                if n % 3 == 0 {
                    append_only(&set, &remove(&key));
                    model.remove(&key);
                } else {
                    append_only(&set, &add(&key, step));
                    model.insert(key, step);
                }
            }
        }
        assert_eq!(members(&set), model, "after step {step}");
    }
    assert!(written > 500, "only {written} snapshots written");
    assert!(keys_under(&store, "s") < 200);
}

#[test]
fn a_log_from_before_compaction_is_read_then_drained() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    let mut model = BTreeMap::new();
    for i in 0..3_000u64 {
        let key = format!("k{}", i % 40);
        if i % 4 == 3 {
            append_only(&set, &remove(&key));
            model.remove(&key);
        } else {
            append_only(&set, &add(&key, i));
            model.insert(key, i);
        }
    }
    assert_eq!(members(&set), model);
    // Later writes compact; each compaction deletes at most MAX_RETIRE old slots.
    for i in 0..10 * K {
        set.add("new", &i, 0).unwrap();
        model.insert("new".into(), i);
        assert_eq!(members(&set), model);
    }
    let left = keys_under(&store, "s");
    assert!(left <= (3 * K + 3) as usize, "{left} keys left");
}

/// A store that runs a hook before its `n`th `get_many`, to change the set between a
/// reader's two calls.
struct Hooked<'a> {
    inner: &'a MemoryStore,
    calls: RefCell<u32>,
    at: u32,
    hook: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
}

impl Store for Hooked<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Failure> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), Failure> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: u64) -> Result<u64, Failure> {
        self.inner.increment(key, delta)
    }
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, Failure> {
        *self.calls.borrow_mut() += 1;
        if *self.calls.borrow() == self.at {
            if let Some(hook) = self.hook.borrow_mut().take() {
                hook();
            }
        }
        self.inner.get_many(keys)
    }
    fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        self.inner.set_many(entries)
    }
}

#[test]
fn a_reader_whose_snapshot_moves_reads_again() {
    let store = MemoryStore::new();
    let writer = LogSet::new(&store, "s");
    for i in 0..K - 1 {
        writer.add(&format!("k{i}"), &i, 0).unwrap();
    }
    let mut model = members(&writer);
    let hooked = Hooked {
        inner: &store,
        calls: RefCell::new(0),
        at: 2,
        hook: RefCell::new(Some(Box::new(|| {
            // Two whole compactions between the reader's first and second call: the second
            // deletes the slots the reader's snapshot (none yet) still needs.
            for i in 0..2 * K {
                writer.add("k0", &(1_000 + i), 0).unwrap();
            }
        }))),
    };
    model.insert("k0".into(), 1_000 + 2 * K - 1);
    let reader = LogSet::new(&hooked, "s");
    assert_eq!(reader.entries::<u64>().unwrap(), model);
    assert_eq!(*hooked.calls.borrow(), 4, "one more round of two calls");
}

/// Several sets read together equal each read alone, in two calls in all; when one set's
/// snapshot moves between them, only that set is read again.
#[test]
fn sets_read_together_fold_as_each_alone_in_two_calls() {
    let counted = crate::CountingStore::default();
    let store = &counted.store;
    let (moving, steady) = (LogSet::new(store, "m"), LogSet::new(store, "s"));
    for i in 0..K + 5 {
        moving.add(&format!("k{}", i % 9), &i, 0).unwrap();
        steady.add(&format!("j{}", i % 4), &(i * 2), 0).unwrap();
    }
    steady.remove("j1", 0).unwrap();
    let empty = LogSet::new(store, "e");
    let mut model_moving = members(&moving);
    let model_steady = members(&steady);

    let hooked = Hooked {
        inner: store,
        calls: RefCell::new(0),
        at: 2,
        hook: RefCell::new(Some(Box::new(|| {
            for i in 0..2 * K {
                moving.add("k0", &(1_000 + i), 0).unwrap();
            }
        }))),
    };
    model_moving.insert("k0".into(), 1_000 + 2 * K - 1);
    let sets = [
        LogSet::new(&hooked, "m"),
        LogSet::new(&hooked, "s"),
        LogSet::new(&hooked, "e"),
    ];
    let read = LogSet::read_together(&sets.iter().collect::<Vec<_>>()).unwrap();
    let read: Vec<BTreeMap<String, u64>> = read.into_iter().map(Contents::entries).collect();
    assert_eq!(read, [model_moving, model_steady, BTreeMap::new()]);
    assert_eq!(
        *hooked.calls.borrow(),
        4,
        "the moved set took one more round"
    );
    assert!(members(&empty).is_empty());

    // Undisturbed, three sets are two calls.
    counted.reset();
    let sets = [
        LogSet::new(&counted, "m"),
        LogSet::new(&counted, "s"),
        LogSet::new(&counted, "e"),
    ];
    LogSet::read_together(&sets.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(counted.calls(), 2);
}

#[test]
fn clear_deletes_every_key_of_a_compacted_set_and_it_can_start_again() {
    let store = MemoryStore::new();
    let set = LogSet::new(&store, "s");
    // Several compactions, a slot in flight (a gap) and slots after the snapshot.
    for i in 0..(3 * K + 5) {
        set.add(&format!("k{}", i % 7), &i, 1).unwrap();
        if i == 2 * K + 3 {
            take_slot(&set);
        }
    }
    set.remove("k0", 1).unwrap();
    assert!(base(&store, "s").upto > 0, "the set was compacted");
    assert_eq!(
        LogSet::exist_many(&store, &["s".into(), "t".into()]).unwrap(),
        [true, false]
    );

    set.clear().unwrap();
    assert_eq!(keys_under(&store, "s"), 0, "{:?}", store.keys());
    assert!(members(&set).is_empty());
    assert_eq!(LogSet::exist_many(&store, &["s".into()]).unwrap(), [false]);
    set.clear().unwrap();

    set.add("again", &1u64, 1).unwrap();
    assert_eq!(members(&set), BTreeMap::from([("again".to_owned(), 1)]));
}
