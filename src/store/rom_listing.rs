//! Listing ROMs (filter, order, page) and the library's totals. The SQL is
//! assembled only from fixed fragments: a client's order is one of the
//! `RomSort` variants (the web layer maps RomM's names onto them), and its
//! values (search pattern, platform ids) are always bound, never written in.

use super::library::{ROM_COLUMNS, Rom, contains_pattern};
use super::{Store, StoreError, on_pool};

/// What a ROM listing is ordered by. Ties are broken by name, then id, so a
/// page boundary never repeats or skips a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RomSort {
    /// The file name, ignoring case (what romgate has always listed by).
    #[default]
    Name,
    Size,
    CreatedAt,
    UpdatedAt,
    Id,
}

/// A sort and its direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RomOrder {
    pub sort: RomSort,
    pub descending: bool,
}

/// Which ROMs to list. `search` is matched as a case-insensitive substring
/// of the file name; `platform_ids` empty means every platform.
#[derive(Debug, Clone, Default)]
pub struct RomFilter {
    pub platform_ids: Vec<i64>,
    pub search: Option<String>,
    pub order: RomOrder,
    pub limit: i64,
    pub offset: i64,
}

/// The library's totals, for RomM's `GET /api/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct LibraryTotals {
    pub platforms: i64,
    pub roms: i64,
    pub total_size: i64,
}

/// One statement for all three numbers. PostgreSQL's SUM of a BIGINT is a
/// NUMERIC, hence the cast.
const TOTALS: &str = "SELECT (SELECT COUNT(*) FROM platforms) AS platforms, COUNT(*) AS roms, \
    CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total_size FROM roms";

impl RomOrder {
    /// The ORDER BY clause, from fixed text only.
    fn clause(self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        let first = match self.sort {
            RomSort::Name => "",
            RomSort::Size => "r.size",
            RomSort::CreatedAt => "r.created_at",
            RomSort::UpdatedAt => "r.updated_at",
            RomSort::Id => return format!("ORDER BY r.id {dir}"),
        };
        let by_name = format!("r.search_key {dir}, r.file_name {dir}, r.id {dir}");
        if first.is_empty() {
            format!("ORDER BY {by_name}")
        } else {
            format!("ORDER BY {first} {dir}, {by_name}")
        }
    }
}

/// `FROM … WHERE …` for a filter: `$1` is the search pattern when there is
/// one, the platform ids follow. Only the number of placeholders depends on
/// the request.
fn filter_sql(has_search: bool, platforms: usize) -> String {
    let mut sql = String::from("FROM roms r JOIN platforms p ON p.id = r.platform_id WHERE 1 = 1");
    let mut next = 1;
    if has_search {
        sql.push_str(" AND r.search_key LIKE $1 ESCAPE '\\'");
        next += 1;
    }
    if platforms > 0 {
        let marks: Vec<String> = (next..next + platforms).map(|n| format!("${n}")).collect();
        sql.push_str(&format!(" AND r.platform_id IN ({})", marks.join(", ")));
    }
    sql
}

impl Store {
    /// One page of ROMs in the filter's order, and how many match in all.
    pub async fn list_roms(&self, filter: &RomFilter) -> Result<(Vec<Rom>, i64), StoreError> {
        let pattern = filter.search.as_deref().map(contains_pattern);
        let from = filter_sql(pattern.is_some(), filter.platform_ids.len());
        let paging = filter.platform_ids.len() + usize::from(pattern.is_some());
        let page = format!(
            "SELECT {ROM_COLUMNS} {from} {} LIMIT ${} OFFSET ${}",
            filter.order.clause(),
            paging + 1,
            paging + 2
        );
        let count = format!("SELECT COUNT(*) {from}");
        on_pool!(self, p => {
            let mut rows = sqlx::query_as(&page);
            let mut total = sqlx::query_scalar(&count);
            if let Some(pattern) = pattern.as_deref() {
                rows = rows.bind(pattern);
                total = total.bind(pattern);
            }
            for id in &filter.platform_ids {
                rows = rows.bind(id);
                total = total.bind(id);
            }
            let roms = rows.bind(filter.limit).bind(filter.offset).fetch_all(p).await?;
            let total: i64 = total.fetch_one(p).await?;
            Ok((roms, total))
        })
    }

    /// Platforms, ROMs and their bytes, in one query.
    pub async fn library_totals(&self) -> Result<LibraryTotals, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(TOTALS).fetch_one(p).await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_bound_values() {
        assert!(!filter_sql(false, 0).contains('$'));
        assert!(filter_sql(true, 0).ends_with("LIKE $1 ESCAPE '\\'"));
        assert!(filter_sql(true, 2).ends_with("IN ($2, $3)"));
        assert!(filter_sql(false, 3).ends_with("IN ($1, $2, $3)"));
    }

    #[test]
    fn every_order_breaks_ties_by_id() {
        for sort in [
            RomSort::Name,
            RomSort::Size,
            RomSort::CreatedAt,
            RomSort::UpdatedAt,
            RomSort::Id,
        ] {
            let asc = RomOrder {
                sort,
                descending: false,
            }
            .clause();
            let desc = RomOrder { sort, descending: true }.clause();
            assert!(asc.ends_with("r.id ASC"), "{asc}");
            assert!(desc.ends_with("r.id DESC"), "{desc}");
            assert!(!desc.contains("ASC"), "{desc}");
        }
        assert_eq!(
            RomOrder::default().clause(),
            "ORDER BY r.search_key ASC, r.file_name ASC, r.id ASC"
        );
    }
}
