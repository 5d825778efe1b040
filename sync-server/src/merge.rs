//! Per-field last-writer-wins, the server's half of convergence.
//!
//! A row is its fields' values plus, per field, the clock of the write that
//! set it. An op carries one clock for all its fields; a field takes the op's
//! value only when the op's clock is greater than the field's (clocks are
//! totally ordered: wall time, counter, then device id, so ties between
//! devices are broken by device id). `deleted` is a field like the others
//! that can only become true: a tombstone wins over older edits, and a newer
//! edit updates the tombstone's fields without bringing the row back.
//! Pure functions: no I/O, so the rule is tested alone (and by proptest:
//! any order of the same ops gives the same row).

use std::collections::BTreeMap;

use crm_protocol::schema::DELETED;
use crm_protocol::Hlc;
use serde_json::{Map, Value};

/// What merging one op into a row did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// The row changed.
    pub changed: bool,
    /// A field of the op lost to a newer write with another value.
    pub lost: bool,
}

/// One row's merged state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowData {
    /// Current value of each field that was ever written.
    pub fields: Map<String, Value>,
    /// The clock of the write that set each field.
    pub clocks: BTreeMap<String, Hlc>,
    /// A tombstone.
    pub deleted: bool,
}

impl RowData {
    /// Apply one op's fields written at `hlc`. Returns true if anything changed.
    pub fn apply(&mut self, hlc: Hlc, fields: &BTreeMap<String, Value>) -> bool {
        self.apply_owned(hlc, fields.clone())
    }

    /// [`RowData::apply`] taking the op's fields: the values move into the
    /// row instead of being copied (the push path, which has no further use
    /// for them).
    pub fn apply_owned(&mut self, hlc: Hlc, fields: BTreeMap<String, Value>) -> bool {
        self.merge_owned(hlc, fields).changed
    }

    /// [`RowData::apply_owned`], also telling whether the op lost a field
    /// to a newer write with another value: its writer shows a value the
    /// row does not have, and must be sent the row back.
    pub fn merge_owned(&mut self, hlc: Hlc, fields: BTreeMap<String, Value>) -> Merged {
        let mut changed = false;
        let mut lost = false;
        for (name, value) in fields {
            if let Value::Object(entries) = value {
                let m = self.merge_entries(hlc, name, entries);
                changed |= m.changed;
                lost |= m.lost;
                continue;
            }
            let current = self.clocks.get(&name).copied().unwrap_or(Hlc::ZERO);
            if hlc <= current {
                lost |= if name == DELETED {
                    !self.deleted
                } else {
                    self.fields.get(&name).unwrap_or(&Value::Null) != &value
                };
                continue;
            }
            if name == DELETED {
                self.deleted = true;
                self.clocks.insert(name, hlc);
            } else {
                self.clocks.insert(name.clone(), hlc);
                self.fields.insert(name, value);
            }
            changed = true;
        }
        Merged { changed, lost }
    }

    /// Merge a map field (custom fields) entry by entry: each entry takes
    /// the op's value (`null`: removed) when the op is newer than the
    /// entry's clock (an entry never written has none).
    fn merge_entries(&mut self, hlc: Hlc, name: String, entries: Map<String, Value>) -> Merged {
        // Each entry has its own clock (an entry never written has none,
        // whatever other entries' writes); the field's is its newest write.
        let newest = self.clocks.get(&name).copied().unwrap_or(Hlc::ZERO);
        self.clocks.insert(name.clone(), newest.max(hlc));
        let mut out = Merged::default();
        let mut map = match self.fields.remove(&name) {
            Some(Value::Object(m)) => m,
            _ => {
                out.changed = true;
                Map::new()
            }
        };
        for (key, value) in entries {
            let clock = crm_protocol::schema::entry_clock(&name, &key);
            let current = self.clocks.get(&clock).copied().unwrap_or(Hlc::ZERO);
            if hlc <= current {
                out.lost |= map.get(&key).unwrap_or(&Value::Null) != &value;
                continue;
            }
            // The entry's clock moves even when its value does not (a
            // removal of an entry never set still outranks older sets).
            if value.is_null() {
                map.remove(&key);
            } else {
                map.insert(key, value);
            }
            self.clocks.insert(clock, hlc);
            out.changed = true;
        }
        self.fields.insert(name, Value::Object(map));
        out
    }

    /// The clocks as stored: `{"_": c, field: other…}` where `c` is the
    /// clock most fields of `table` share and only fields with another clock
    /// are listed (a field never written is listed with the zero clock).
    /// A row written in one op stores one stamp instead of one per field.
    pub fn clocks_json(&self, table: &str) -> Value {
        let names = stored_names(table);
        let mut counts: BTreeMap<Hlc, usize> = BTreeMap::new();
        for f in &names {
            if let Some(h) = self.clocks.get(*f) {
                *counts.entry(*h).or_default() += 1;
            }
        }
        let common = counts
            .iter()
            .max_by_key(|(h, n)| (**n, **h))
            .map(|(h, _)| *h)
            .unwrap_or(Hlc::ZERO);
        let mut out = serde_json::Map::new();
        out.insert("_".into(), Value::String(common.to_string()));
        for f in &names {
            let c = self.clocks.get(*f).copied().unwrap_or(Hlc::ZERO);
            if c != common {
                out.insert(f.to_string(), Value::String(c.to_string()));
            }
        }
        // Clocks of fields outside the schema (none are accepted today)
        // are kept as they are.
        for (k, v) in &self.clocks {
            if !out.contains_key(k) && !names.contains(&k.as_str()) {
                out.insert(k.clone(), Value::String(v.to_string()));
            }
        }
        Value::Object(out)
    }

    /// Read stored clocks (the form [`RowData::clocks_json`] writes, or one
    /// entry per field); the zero clock means never written. A stamp that
    /// does not parse counts as the oldest.
    pub fn clocks_from_json(table: &str, v: &Value) -> BTreeMap<String, Hlc> {
        let Some(m) = v.as_object() else {
            return BTreeMap::new();
        };
        let parse = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).unwrap_or(Hlc::ZERO);
        let mut out = BTreeMap::new();
        if let Some(common) = m.get("_").map(parse) {
            for f in stored_names(table) {
                out.insert(f.to_string(), common);
            }
        }
        for (k, v) in m {
            if k != "_" {
                out.insert(k.clone(), parse(v));
            }
        }
        out.retain(|_, h| *h != Hlc::ZERO);
        out
    }
}

/// The fields whose clocks a row of `table` stores: its own and `deleted`.
fn stored_names(table: &str) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = crm_protocol::schema::fields(table).unwrap_or_default();
    v.push(DELETED);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn hlc(millis: u64, node: u128) -> Hlc {
        Hlc {
            millis,
            counter: 0,
            node: Uuid::from_u128(node),
        }
    }

    fn op(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn the_later_write_wins_per_field_and_older_ones_change_nothing() {
        let mut r = RowData::default();
        assert!(r.apply(
            hlc(10, 1),
            &op(&[("city", "Leeds".into()), ("stage", "lead".into())])
        ));
        assert!(r.apply(hlc(20, 2), &op(&[("city", "York".into())])));
        assert!(!r.apply(hlc(15, 3), &op(&[("city", "Hull".into())])));
        assert_eq!(r.fields["city"], "York");
        assert_eq!(r.fields["stage"], "lead");
    }

    /// An op that loses a field to a newer write with another value is
    /// told so (its writer must get the row back); losing to the same
    /// value, or a delete losing to nothing, is not a loss.
    #[test]
    fn an_op_that_loses_a_field_with_another_value_is_told_so() {
        let mut r = RowData::default();
        r.apply(hlc(20, 2), &op(&[("city", "York".into())]));
        let m = r.merge_owned(hlc(15, 3), op(&[("city", "Hull".into())]));
        assert_eq!((m.changed, m.lost), (false, true));
        let m = r.merge_owned(hlc(15, 3), op(&[("city", "York".into())]));
        assert_eq!((m.changed, m.lost), (false, false));
        let m = r.merge_owned(
            hlc(16, 3),
            op(&[("city", "Hull".into()), ("stage", "client".into())]),
        );
        assert_eq!((m.changed, m.lost), (true, true), "stage won, city lost");
        r.apply(hlc(30, 1), &op(&[(DELETED, Value::Bool(true))]));
        let m = r.merge_owned(hlc(25, 3), op(&[(DELETED, Value::Bool(true))]));
        assert_eq!((m.changed, m.lost), (false, false));
        assert_eq!(r.fields["city"], "York");
    }

    /// A map field merges entry by entry: two devices' different custom
    /// fields both stay, `null` removes an entry, a stale write of an
    /// entry loses to a newer one, and any order gives the same row.
    #[test]
    fn map_fields_merge_entry_by_entry() {
        let create = op(&[("custom", serde_json::json!({"score": "1"}))]);
        let a = op(&[("custom", serde_json::json!({"score": "7"}))]);
        let b = op(&[("custom", serde_json::json!({"segment": "gold"}))]);
        let gone = op(&[("custom", serde_json::json!({"score": null}))]);
        let stale = op(&[("custom", serde_json::json!({"segment": "tin"}))]);
        let ops = [
            (hlc(10, 1), create),
            (hlc(20, 1), a),
            (hlc(21, 2), b),
            (hlc(30, 2), gone),
            (hlc(15, 3), stale),
        ];
        let mut forward = RowData::default();
        for (h, o) in &ops {
            forward.apply(*h, o);
        }
        assert_eq!(
            forward.fields["custom"],
            serde_json::json!({"segment": "gold"})
        );
        let mut backward = RowData::default();
        for (h, o) in ops.iter().rev() {
            backward.apply(*h, o);
        }
        assert_eq!(backward.fields, forward.fields);
        assert_eq!(backward.clocks, forward.clocks);
        let m = forward.merge_owned(
            hlc(16, 3),
            op(&[("custom", serde_json::json!({"segment": "tin"}))]),
        );
        assert!(m.lost && !m.changed);
        // An older write of an entry nobody else wrote still lands, however
        // new the other entries are.
        let m = forward.merge_owned(
            hlc(12, 3),
            op(&[("custom", serde_json::json!({"tier": "2"}))]),
        );
        assert!(m.changed && !m.lost);
        assert_eq!(
            forward.fields["custom"],
            serde_json::json!({"segment": "gold", "tier": "2"})
        );
    }

    #[test]
    fn equal_wall_times_are_broken_by_device_id() {
        let mut a = RowData::default();
        a.apply(hlc(10, 1), &op(&[("city", "A".into())]));
        a.apply(hlc(10, 2), &op(&[("city", "B".into())]));
        let mut b = RowData::default();
        b.apply(hlc(10, 2), &op(&[("city", "B".into())]));
        b.apply(hlc(10, 1), &op(&[("city", "A".into())]));
        assert_eq!(a, b);
        assert_eq!(a.fields["city"], "B");
    }

    #[test]
    fn a_tombstone_wins_over_older_edits_and_newer_edits_do_not_revive() {
        let mut r = RowData::default();
        r.apply(hlc(10, 1), &op(&[("city", "A".into())]));
        r.apply(hlc(20, 2), &op(&[(DELETED, true.into())]));
        r.apply(hlc(15, 1), &op(&[("city", "B".into())]));
        assert!(r.deleted, "the older edit does not undo the delete");
        // Field values stay per-field LWW inside the tombstone, so every
        // replica's tombstone is identical whatever the arrival order.
        assert_eq!(r.fields["city"], "B");
        r.apply(hlc(30, 1), &op(&[("city", "C".into())]));
        assert!(r.deleted, "a later edit does not undelete");
    }

    #[test]
    fn applying_an_op_twice_changes_nothing_the_second_time() {
        let mut r = RowData::default();
        let o = op(&[("city", "A".into())]);
        assert!(r.apply(hlc(10, 1), &o));
        assert!(!r.apply(hlc(10, 1), &o));
    }

    #[test]
    fn stored_clocks_are_compact_and_read_back_the_same() {
        let mut r = RowData::default();
        r.apply(
            hlc(10, 1),
            &op(&[
                ("city", "A".into()),
                ("stage", "lead".into()),
                ("kind", "person".into()),
            ]),
        );
        r.apply(hlc(20, 2), &op(&[("city", "B".into())]));
        let stored = r.clocks_json("contacts");
        assert_eq!(RowData::clocks_from_json("contacts", &stored), r.clocks);
        // A row written in one op: one shared stamp, plus `deleted` (never).
        let mut whole = RowData::default();
        let all: Vec<(&str, Value)> = crm_protocol::schema::fields("contacts")
            .unwrap_or_default()
            .iter()
            .map(|f| (*f, Value::from("x")))
            .collect();
        whole.apply(hlc(10, 1), &op(&all));
        let stored = whole.clocks_json("contacts");
        assert_eq!(stored.as_object().map(|m| m.len()), Some(2), "{stored}");
        assert_eq!(RowData::clocks_from_json("contacts", &stored), whole.clocks);
        r.apply(hlc(30, 2), &op(&[(DELETED, true.into())]));
        let stored = r.clocks_json("policies");
        assert_eq!(RowData::clocks_from_json("policies", &stored), r.clocks);
    }

    proptest! {
        #[test]
        fn any_order_of_the_same_ops_gives_the_same_row(
            ops in proptest::collection::vec((0u64..50, 0u128..4, 0usize..3, 0u8..5, any::<bool>()), 1..30),
            seed in any::<u64>(),
        ) {
            let names = ["city", "stage", "owner"];
            let built: Vec<(Hlc, BTreeMap<String, Value>)> = ops.iter().enumerate().map(|(i, (m, n, f, v, del))| {
                let h = Hlc { millis: *m, counter: i as u32, node: Uuid::from_u128(*n) };
                let fields = if *del { op(&[(DELETED, true.into())]) } else { op(&[(names[*f], Value::from(*v))]) };
                (h, fields)
            }).collect();
            let mut forward = RowData::default();
            for (h, f) in &built { forward.apply(*h, f); }
            let mut shuffled = built.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut other = RowData::default();
            for (h, f) in &shuffled { other.apply(*h, f); }
            prop_assert_eq!(&forward, &other);
            let stored = forward.clocks_json("contacts");
            prop_assert_eq!(RowData::clocks_from_json("contacts", &stored), forward.clocks);
        }
    }
}
