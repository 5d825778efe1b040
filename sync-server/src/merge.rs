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
        let mut changed = false;
        for (name, value) in fields {
            let current = self.clocks.get(name).copied().unwrap_or(Hlc::ZERO);
            if hlc <= current {
                continue;
            }
            if name == DELETED {
                self.deleted = true;
            } else {
                self.fields.insert(name.clone(), value.clone());
            }
            self.clocks.insert(name.clone(), hlc);
            changed = true;
        }
        changed
    }

    /// The clocks as stored (JSON object of text stamps).
    pub fn clocks_json(&self) -> Value {
        Value::Object(
            self.clocks
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                .collect(),
        )
    }

    /// Read stored clocks; a stamp that does not parse counts as the oldest.
    pub fn clocks_from_json(v: &Value) -> BTreeMap<String, Hlc> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().and_then(|s| s.parse().ok()).unwrap_or(Hlc::ZERO),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
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
            prop_assert_eq!(forward, other);
        }
    }
}
