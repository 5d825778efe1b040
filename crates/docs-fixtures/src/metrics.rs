//! Document-level ranking metrics for scoring a search run against the
//! labelled questions.
//!
//! The library returns passages; callers reduce them to the ranked list of
//! document ids they came from. A document repeated further down (a second
//! passage from it) is ignored after its first occurrence, so a result list
//! cannot score twice for the same document.

use crate::corpus::Judgement;
use std::collections::{HashMap, HashSet};

/// Ranked ids with later duplicates removed, at most `k` of them.
fn dedup_top(k: usize, ranked: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    ranked
        .iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .take(k)
        .collect()
}

/// Grade per judged document; if a document was judged twice the higher
/// grade counts.
fn grades(judgements: &[Judgement]) -> HashMap<&str, u8> {
    let mut map: HashMap<&str, u8> = HashMap::new();
    for j in judgements {
        let g = map.entry(j.doc.as_str()).or_insert(0);
        *g = (*g).max(j.grade);
    }
    map
}

fn gain(grade: u8) -> f64 {
    2f64.powi(i32::from(grade)) - 1.0
}

/// Discount of a 0-based rank: log2(rank + 2).
fn discount(rank: usize) -> f64 {
    (rank as f64 + 2.0).log2()
}

/// nDCG@k with gain 2^grade − 1 and a log2(rank + 1) discount (rank
/// 1-based); the ideal ordering comes from the judgements. 0.0 when no
/// judged document has a grade above 0 (nothing could be gained).
pub fn ndcg_at(k: usize, ranked: &[String], judgements: &[Judgement]) -> f64 {
    let grades = grades(judgements);
    let dcg: f64 = dedup_top(k, ranked)
        .iter()
        .enumerate()
        .map(|(i, id)| gain(grades.get(id).copied().unwrap_or(0)) / discount(i))
        .sum();
    let mut ideal: Vec<u8> = grades.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| gain(*g) / discount(i))
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Share of judged documents (grade ≥ 1) found in the top `k`. 0.0 when
/// there is nothing to find.
pub fn recall_at(k: usize, ranked: &[String], judgements: &[Judgement]) -> f64 {
    let grades = grades(judgements);
    let relevant = grades.values().filter(|g| **g >= 1).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = dedup_top(k, ranked)
        .iter()
        .filter(|id| grades.get(*id).is_some_and(|g| *g >= 1))
        .count();
    found as f64 / relevant as f64
}

/// 1 / rank of the first document graded ≥ 2 (closely relevant or an
/// answer) in the whole list, 0.0 if none. Partly relevant documents do not
/// count: a person stops at the first result that actually helps.
pub fn reciprocal_rank(ranked: &[String], judgements: &[Judgement]) -> f64 {
    let grades = grades(judgements);
    dedup_top(usize::MAX, ranked)
        .iter()
        .position(|id| grades.get(id).is_some_and(|g| *g >= 2))
        .map_or(0.0, |i| 1.0 / (i as f64 + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(doc: &str, grade: u8) -> Judgement {
        Judgement {
            doc: doc.into(),
            grade,
        }
    }

    fn r(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn ndcg_perfect_and_empty() {
        let js = [j("a", 3), j("b", 1)];
        assert!(close(ndcg_at(10, &r(&["a", "b"]), &js), 1.0));
        assert!(close(ndcg_at(10, &r(&[]), &js), 0.0));
        assert!(close(ndcg_at(10, &r(&["a"]), &[]), 0.0));
    }

    #[test]
    fn ndcg_by_hand() {
        // Judged a=3, b=2, c=1; ranked x, c, a, b.
        // DCG@3 = 0/1 + 1/log2(3) + 7/2 = 0.630930 + 3.5 = 4.130930
        // IDCG@3 = 7/1 + 3/log2(3) + 1/2 = 7 + 1.892789 + 0.5 = 9.392789
        let js = [j("a", 3), j("b", 2), j("c", 1)];
        let got = ndcg_at(3, &r(&["x", "c", "a", "b"]), &js);
        let want = (1.0 / 3f64.log2() + 3.5) / (7.0 + 3.0 / 3f64.log2() + 0.5);
        assert!(close(got, want), "{got} vs {want}");
        assert!((got - 0.439798).abs() < 1e-6, "{got}");
    }

    #[test]
    fn ndcg_ignores_duplicates() {
        // a, a, b: the second a is dropped, so b sits at rank 2.
        // DCG = 7 + 3/log2(3); IDCG the same.
        let js = [j("a", 3), j("b", 2)];
        assert!(close(ndcg_at(2, &r(&["a", "a", "b"]), &js), 1.0));
        // Without dedup b would fall out of the top 2.
        assert!(close(
            ndcg_at(2, &r(&["b", "b", "a"]), &js),
            (3.0 + 7.0 / 3f64.log2()) / (7.0 + 3.0 / 3f64.log2())
        ));
    }

    #[test]
    fn ndcg_ideal_is_cut_at_k() {
        // k=1, judged a=1, b=3; ranked a. DCG = 1, IDCG = 7.
        let js = [j("a", 1), j("b", 3)];
        assert!(close(ndcg_at(1, &r(&["a", "b"]), &js), 1.0 / 7.0));
    }

    #[test]
    fn recall_by_hand() {
        let js = [j("a", 3), j("b", 1), j("c", 0), j("d", 2)];
        // Relevant: a, b, d. Top 2 of [b, x, a] = b, x → 1/3.
        assert!(close(recall_at(2, &r(&["b", "x", "a"]), &js), 1.0 / 3.0));
        assert!(close(recall_at(3, &r(&["b", "x", "a"]), &js), 2.0 / 3.0));
        // Duplicates do not take a slot.
        assert!(close(recall_at(2, &r(&["b", "b", "a"]), &js), 2.0 / 3.0));
        // A grade-0 judgement is not something to find.
        assert!(close(recall_at(5, &r(&["c"]), &js), 0.0));
        assert!(close(recall_at(5, &r(&["a"]), &[]), 0.0));
    }

    #[test]
    fn reciprocal_rank_by_hand() {
        let js = [j("a", 1), j("b", 2), j("c", 3)];
        // a is only partly relevant; b at rank 2.
        assert!(close(reciprocal_rank(&r(&["a", "b", "c"]), &js), 0.5));
        assert!(close(
            reciprocal_rank(&r(&["x", "a", "a", "c"]), &js),
            1.0 / 3.0
        ));
        assert!(close(reciprocal_rank(&r(&["c"]), &js), 1.0));
        assert!(close(reciprocal_rank(&r(&["a", "x"]), &js), 0.0));
    }
}
