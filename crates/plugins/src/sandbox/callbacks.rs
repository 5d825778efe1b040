//! Engine functions that take a callback, replaced where Rhai's own ones
//! swallow the callback's errors.
//!
//! Rhai's `sort`/`sort_by`, `order`/`order_by` and `dedup` with a comparer
//! treat a comparer that fails as "equal" and go on, so a limit hit inside
//! it (call depth, data size) would vanish. These versions stop at the comparer's first error
//! and fail with it. (Operations, the deadline, memory and caps are sticky
//! in `on_progress` as well, whatever swallows them.) Registered on the
//! engine itself, they come before the packages' functions of the same
//! signature.

use std::cmp::Ordering;
use std::panic::AssertUnwindSafe;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, NativeCallContext, Position};

type Result<T> = std::result::Result<T, Box<EvalAltResult>>;

pub(super) fn register(engine: &mut Engine) {
    engine.register_fn("sort", sort_by);
    engine.register_fn("sort_by", sort_by);
    engine.register_fn("dedup", dedup_by);
    engine.register_fn("order", order_by);
    engine.register_fn("order_by", order_by);
}

fn runtime(msg: &str) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(msg.into(), Position::NONE))
}

/// The comparer's answer as an ordering: a number (negative, zero,
/// positive) or a boolean (`true`: the first goes first).
fn ordering(v: &Dynamic) -> Result<Ordering> {
    if let Ok(n) = v.as_int() {
        return Ok(n.cmp(&0));
    }
    if let Ok(b) = v.as_bool() {
        return Ok(if b { Ordering::Less } else { Ordering::Greater });
    }
    Err(runtime(
        "sort: the comparer must return a number (negative, 0, positive) or true/false",
    ))
}

fn sort_by(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> Result<()> {
    if array.len() <= 1 {
        return Ok(());
    }
    let mut failed: Option<Box<EvalAltResult>> = None;
    // `slice::sort_by` may panic when the comparer is not a total order.
    let sorted = std::panic::catch_unwind(AssertUnwindSafe(|| {
        array.sort_by(|x, y| {
            if failed.is_some() {
                return Ordering::Equal;
            }
            match comparer
                .call_raw(&ctx, None, [x.clone(), y.clone()])
                .and_then(|v| ordering(&v))
            {
                Ok(o) => o,
                Err(e) => {
                    failed = Some(e);
                    Ordering::Equal
                }
            }
        })
    }));
    if let Some(e) = failed {
        return Err(e);
    }
    sorted.map_err(|_| runtime("sort: the comparer does not order the items consistently"))
}

/// A sorted copy (`order`, `order_by`): Rhai's own sorts a copy with its
/// `sort_by`, which treats a failing comparer as "equal".
fn order_by(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> Result<Array> {
    let mut copy = array.clone();
    sort_by(ctx, &mut copy, comparer)?;
    Ok(copy)
}

fn dedup_by(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> Result<()> {
    let mut failed: Option<Box<EvalAltResult>> = None;
    array.dedup_by(|x, y| {
        if failed.is_some() {
            return false;
        }
        match comparer.call_raw(&ctx, None, [y.clone(), x.clone()]) {
            Ok(v) => v.as_bool().unwrap_or(false),
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    failed.map_or(Ok(()), Err)
}
