//! Limit/offset pagination as Django REST framework does it, with the limit capped.

use crate::Invalid;

/// The page size when a request names none.
pub const DEFAULT_LIMIT: u64 = 20;
/// Offsets beyond this are refused: nobody pages that deep, and it bounds the work of a query.
pub const MAX_OFFSET: u64 = 100_000_000;

/// A validated window into a result list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub offset: u64,
}

impl PageRequest {
    /// Reads `limit` and `offset` as given in the query string. A limit above `max_limit` is
    /// lowered to it (as DRF's `max_limit` does); zero, negative or non-numeric values are refused.
    pub fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        max_limit: u64,
    ) -> Result<Self, Invalid> {
        let limit = match limit {
            None | Some("") => DEFAULT_LIMIT.min(max_limit),
            Some(raw) => match raw.parse::<u64>() {
                Ok(0) | Err(_) => {
                    return Err(Invalid::field("limit", "must be a positive whole number"));
                }
                Ok(n) => n.min(max_limit),
            },
        };
        let offset = match offset {
            None | Some("") => 0,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if n <= MAX_OFFSET => n,
                _ => {
                    return Err(Invalid::field(
                        "offset",
                        format!("must be a whole number from 0 to {MAX_OFFSET}"),
                    ));
                }
            },
        };
        Ok(Self { limit, offset })
    }

    /// The offset of the next page, if there is one.
    pub fn next_offset(&self, count: u64) -> Option<u64> {
        let next = self.offset.saturating_add(self.limit);
        (next < count).then_some(next)
    }

    /// This page of a list held in memory.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = usize::try_from(self.offset)
            .unwrap_or(usize::MAX)
            .min(items.len());
        let len = usize::try_from(self.limit).unwrap_or(usize::MAX);
        &items[start..start.saturating_add(len).min(items.len())]
    }

    /// The offset of the previous page, if there is one (`Some(0)` for the first page).
    pub fn previous_offset(&self) -> Option<u64> {
        (self.offset > 0).then(|| self.offset.saturating_sub(self.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_a_list_in_memory() {
        let items = [1, 2, 3, 4, 5];
        let page = |limit, offset| PageRequest { limit, offset }.slice(&items).to_vec();
        assert_eq!(page(2, 0), [1, 2]);
        assert_eq!(page(2, 4), [5]);
        assert_eq!(page(20, 5), Vec::<i32>::new());
        assert_eq!(page(u64::MAX, u64::MAX), Vec::<i32>::new());
    }

    #[test]
    fn defaults_and_cap() {
        assert_eq!(
            PageRequest::parse(None, None, 1000).unwrap(),
            PageRequest {
                limit: 20,
                offset: 0
            }
        );
        assert_eq!(
            PageRequest::parse(Some("5000"), None, 1000).unwrap().limit,
            1000
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (l, o, field) in [
            (Some("0"), None, "limit"),
            (Some("-1"), None, "limit"),
            (Some("x"), None, "limit"),
            (None, Some("-5"), "offset"),
            (None, Some("1e3"), "offset"),
        ] {
            let err = PageRequest::parse(l, o, 100).unwrap_err();
            assert_eq!(err.0[0].0, field);
        }
    }

    #[test]
    fn neighbours() {
        let p = PageRequest {
            limit: 20,
            offset: 20,
        };
        assert_eq!(p.next_offset(41), Some(40));
        assert_eq!(p.next_offset(40), None);
        assert_eq!(p.previous_offset(), Some(0));
        let first = PageRequest {
            limit: 20,
            offset: 0,
        };
        assert_eq!(first.previous_offset(), None);
        let odd = PageRequest {
            limit: 20,
            offset: 5,
        };
        assert_eq!(odd.previous_offset(), Some(0));
    }
}
