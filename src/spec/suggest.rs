//! "Did you mean" suggestions: the known name closest to a misspelt one,
//! by edit distance, with the work per suggestion bounded whatever the
//! input (a lab file may hold thousands of names, and words up to 64 KiB).

/// The candidate closest to `word` by edit distance, if it is close enough
/// to be a plausible typo (at most a third of its characters differ; the
/// first of equally close ones). The work is bounded whatever the input:
/// words and candidates over [`MAX_COMPARED_CHARS`] are not compared, and
/// the search ends after [`MAX_CELLS`] steps (candidates looked at plus
/// cells of the distance tables), with the best one found by then.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if word.len() > 4 * MAX_COMPARED_CHARS {
        return None;
    }
    let word: Vec<char> = word.to_lowercase().chars().collect();
    if word.len() > MAX_COMPARED_CHARS {
        return None;
    }
    let limit = (word.len() / 3).max(1);
    let mut table = Table::default();
    let mut budget = MAX_CELLS;
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let Some(left) = budget.checked_sub(1) else {
            break;
        };
        budget = left;
        if candidate.len() > 4 * MAX_COMPARED_CHARS {
            continue;
        }
        table.b.clear();
        table.b.extend(candidate.chars());
        // The distance is at least the difference of the lengths.
        if table.b.len() > MAX_COMPARED_CHARS || table.b.len().abs_diff(word.len()) > limit {
            continue;
        }
        let Some(left) = budget.checked_sub(word.len() * table.b.len()) else {
            break;
        };
        budget = left;
        let bound = best.map_or(limit, |(d, _)| d.saturating_sub(1));
        if let Some(d) = table.distance(&word, bound) {
            best = Some((d, candidate));
            if d == 0 {
                break;
            }
        }
    }
    best.map(|(_, c)| c)
}

/// Longest word or candidate [`closest`] compares, in characters: names in
/// lab files have at most 63.
const MAX_COMPARED_CHARS: usize = 64;

/// Steps one [`closest`] may take (a fraction of a millisecond): as many
/// candidates as fit of the word's length, e.g. 2000 of 8 characters or 32
/// of 64. Only shown diagnostics look for suggestions, so a file needs at
/// most 50 times this.
const MAX_CELLS: usize = 1 << 17;

/// The rows of a Levenshtein table, kept between comparisons.
#[derive(Default)]
struct Table {
    b: Vec<char>,
    prev: Vec<usize>,
    cur: Vec<usize>,
}

impl Table {
    /// The edit distance between `a` and `self.b` if it is at most `bound`;
    /// stops as soon as every cell of a row is over it.
    fn distance(&mut self, a: &[char], bound: usize) -> Option<usize> {
        let n = self.b.len();
        self.prev.clear();
        self.prev.extend(0..=n);
        for (i, ca) in a.iter().enumerate() {
            self.cur.clear();
            self.cur.push(i + 1);
            for (j, cb) in self.b.iter().enumerate() {
                let cost = usize::from(ca != cb);
                let cell = (self.prev[j] + cost)
                    .min(self.prev[j + 1] + 1)
                    .min(self.cur[j] + 1);
                self.cur.push(cell);
            }
            if self.cur.iter().all(|c| *c > bound) {
                return None;
            }
            std::mem::swap(&mut self.prev, &mut self.cur);
        }
        Some(self.prev[n]).filter(|d| *d <= bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_the_closest_plausible_candidates_is_suggested() {
        assert_eq!(closest("nodse", ["name", "nodes", "node"]), Some("node"));
        assert_eq!(closest("netwrok", ["nodes", "network"]), Some("network"));
        assert_eq!(closest("Nodes", ["nodes"]), Some("nodes"));
        assert_eq!(closest("ab", ["xy", "ac", "ad"]), Some("ac"));
        assert_eq!(closest("network", ["nodes", "name"]), None);
        assert_eq!(closest("x", Vec::<&str>::new()), None);
    }

    #[test]
    fn long_words_and_candidates_are_not_compared() {
        let long = "a".repeat(65);
        assert_eq!(closest(&long, [&long[..64]]), None);
        assert_eq!(closest(&long[..64], [long.as_str()]), None);
        assert_eq!(closest(&long[..64], [&long[..63]]), Some(&long[..63]));
        assert_eq!(closest(&"x".repeat(64 << 10), ["x"]), None);
    }

    #[test]
    fn the_search_stops_when_its_budget_is_spent() {
        // 64 × 64 cells per candidate: the budget holds 32 of them.
        let far: Vec<String> = (0..40).map(|i| format!("{i:0>64}")).collect();
        let word = format!("{:1>64}", "");
        let mut candidates: Vec<&str> = far.iter().map(String::as_str).collect();
        let near = format!("{:1>63}2", "");
        candidates.push(&near);
        assert_eq!(closest(&word, candidates.iter().copied()), None);
        candidates.insert(0, &near);
        assert_eq!(
            closest(&word, candidates.iter().copied()),
            Some(near.as_str())
        );
        // Candidates skipped by their length count too.
        let many = vec!["x"; MAX_CELLS];
        let mut with_near = many.clone();
        with_near.push("abcdefgh");
        assert_eq!(closest("abcdefgi", with_near), None);
    }
}
