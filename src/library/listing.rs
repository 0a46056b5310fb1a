//! Listing the library: which ROMs, in which order, how many at once; and
//! its totals. RomM's clients and romgate's own share one query: RomM's
//! sort names are mapped onto a fixed set here, anything else is refused.

use super::Library;
use crate::error::{AppError, AppResult, Code};
use crate::store::{LibraryTotals, Rom, RomFilter, RomOrder, RomSort};

/// Most ROMs one listing returns (RomM's own ceiling); larger asks are cut
/// to it.
pub const MAX_PAGE: i64 = 10_000;
/// ROMs per listing when the client does not say.
pub const DEFAULT_PAGE: i64 = 50;
/// Most platforms one listing may name.
const MAX_PLATFORMS: usize = 1_000;

/// What a client asks to list; `limit` is clamped to `MAX_PAGE`.
#[derive(Debug, Default)]
pub struct RomQuery {
    /// Every platform whose ROMs to list (none: all platforms).
    pub platform_ids: Vec<i64>,
    pub search: Option<String>,
    pub order: RomOrder,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// RomM's `order_by` and `order_dir` (either may be missing or empty), as
/// an order romgate can give; an unknown name is a 400 naming the known ones.
pub fn rom_order(order_by: Option<&str>, order_dir: Option<&str>) -> AppResult<RomOrder> {
    let by = order_by.unwrap_or_default().trim().to_ascii_lowercase();
    let sort = match by.as_str() {
        "" | "name" | "fs_name" | "file_name" => RomSort::Name,
        "fs_size_bytes" | "size" => RomSort::Size,
        "created_at" => RomSort::CreatedAt,
        "updated_at" => RomSort::UpdatedAt,
        "id" => RomSort::Id,
        _ => {
            return Err(AppError::bad_request(
                Code::InvalidRequest,
                "order_by must be one of name, fs_name, fs_size_bytes, created_at, updated_at, id.",
            ));
        }
    };
    let dir = order_dir.unwrap_or_default().trim().to_ascii_lowercase();
    let descending = match dir.as_str() {
        "" | "asc" => false,
        "desc" => true,
        _ => {
            return Err(AppError::bad_request(
                Code::InvalidRequest,
                "order_dir must be asc or desc.",
            ));
        }
    };
    Ok(RomOrder { sort, descending })
}

/// A file name as RomM's clients read it: the name without its extension,
/// and the extension without its dot. A folder (multi-file game) or a name
/// with nothing on one side of its last dot has no extension.
pub fn split_extension(file_name: &str, multi: bool) -> (&str, &str) {
    match file_name.rsplit_once('.') {
        Some((stem, extension)) if !multi && !stem.is_empty() && !extension.is_empty() => (stem, extension),
        _ => (file_name, ""),
    }
}

impl Library {
    /// One page of ROMs and the number matching in all.
    pub async fn roms(&self, query: RomQuery) -> AppResult<(Vec<Rom>, i64, RomFilter)> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE);
        let offset = query.offset.unwrap_or(0);
        if limit < 1 || offset < 0 {
            return Err(AppError::bad_request(
                Code::InvalidRequest,
                "limit must be at least 1 and offset at least 0.",
            ));
        }
        let mut platform_ids = query.platform_ids;
        platform_ids.sort_unstable();
        platform_ids.dedup();
        if platform_ids.len() > MAX_PLATFORMS {
            return Err(AppError::bad_request(
                Code::InvalidRequest,
                "A listing may name at most 1000 platforms.",
            ));
        }
        let filter = RomFilter {
            platform_ids,
            search: query.search.filter(|s| !s.trim().is_empty()),
            order: query.order,
            limit: limit.min(MAX_PAGE),
            offset,
        };
        let (roms, total) = self.store.list_roms(&filter).await?;
        Ok((roms, total, filter))
    }

    /// Platforms, ROMs and bytes in the library, as last scanned.
    pub async fn totals(&self) -> AppResult<LibraryTotals> {
        Ok(self.store.library_totals().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_their_last_dot() {
        assert_eq!(
            split_extension("Super Mario 64 (USA).z64", false),
            ("Super Mario 64 (USA)", "z64")
        );
        assert_eq!(split_extension("game.tar.gz", false), ("game.tar", "gz"));
        assert_eq!(split_extension("Final Fantasy VII", true), ("Final Fantasy VII", ""));
        assert_eq!(split_extension("Disc.v1", true), ("Disc.v1", ""));
        assert_eq!(split_extension(".hidden", false), (".hidden", ""));
        assert_eq!(split_extension("trailing.", false), ("trailing.", ""));
        assert_eq!(split_extension("README", false), ("README", ""));
    }

    proptest::proptest! {
        #[test]
        fn a_split_name_joins_back_and_its_extension_has_no_dot(name in ".{0,60}", multi in proptest::bool::ANY) {
            let (stem, extension) = split_extension(&name, multi);
            let joined = if extension.is_empty() { stem.to_string() } else { format!("{stem}.{extension}") };
            proptest::prop_assert_eq!(joined, name.clone());
            proptest::prop_assert!(!extension.contains('.'));
            proptest::prop_assert!(!multi || extension.is_empty());
        }
    }

    #[test]
    fn romm_sort_names_map_onto_romgate_orders() {
        let order = |by, dir| rom_order(Some(by), Some(dir)).ok();
        assert_eq!(order("", ""), Some(RomOrder::default()));
        assert_eq!(rom_order(None, None).ok(), Some(RomOrder::default()));
        assert_eq!(
            order("FS_SIZE_BYTES", "Desc"),
            Some(RomOrder {
                sort: RomSort::Size,
                descending: true
            })
        );
        assert_eq!(order("name", "asc").map(|o| o.sort), Some(RomSort::Name));
        assert_eq!(order("updated_at", "").map(|o| o.sort), Some(RomSort::UpdatedAt));
        for (by, dir) in [("rating", "asc"), ("name; DROP TABLE roms", "asc"), ("name", "up")] {
            assert!(order(by, dir).is_none(), "{by} {dir}");
        }
    }
}
