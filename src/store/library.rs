//! Platforms and ROMs. The scanner writes in batches, each batch one
//! transaction, so a library of tens of thousands of files costs a few
//! hundred commits rather than one per file.

use super::{Store, StoreError, on_pool};

/// A platform with the number of its ROMs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Platform {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub rom_count: i64,
}

/// A ROM as stored, with its platform's slug.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Rom {
    pub id: i64,
    pub platform_id: i64,
    pub platform_slug: String,
    pub file_name: String,
    pub multi: bool,
    pub size: i64,
    pub sha256: Option<String>,
    pub mtime_ns: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the scanner compares a file on disk against.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RomFingerprint {
    pub id: i64,
    pub file_name: String,
    pub multi: bool,
    pub size: i64,
    pub mtime_ns: i64,
}

/// A ROM to insert, or to update when (platform, file name) exists.
#[derive(Debug, Clone)]
pub struct RomUpsert {
    pub file_name: String,
    pub multi: bool,
    pub size: i64,
    pub sha256: Option<String>,
    pub mtime_ns: i64,
}

pub(super) const ROM_COLUMNS: &str = "r.id, r.platform_id, p.slug AS platform_slug, r.file_name, r.multi, r.size, r.sha256, \
    r.mtime_ns, r.created_at, r.updated_at";
const UPSERT_PLATFORM: &str = "INSERT INTO platforms (slug, name, created_at) VALUES ($1, $1, $2) \
    ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug RETURNING id";
const SELECT_PLATFORMS: &str = "SELECT p.id, p.slug, p.name, COUNT(r.id) AS rom_count \
    FROM platforms p LEFT JOIN roms r ON r.platform_id = p.id";
const UPSERT_ROM: &str = "INSERT INTO roms \
    (platform_id, file_name, search_key, multi, size, sha256, mtime_ns, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
    ON CONFLICT (platform_id, file_name) DO UPDATE SET multi = excluded.multi, size = excluded.size, \
    sha256 = excluded.sha256, mtime_ns = excluded.mtime_ns, updated_at = excluded.updated_at \
    RETURNING id";
/// The LIKE pattern matching `text` anywhere, with the user's `%`, `_` and
/// `\` taken literally.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The key the search runs on (lower-cased here, so both engines agree).
pub fn search_key(file_name: &str) -> String {
    file_name.to_lowercase()
}

impl Store {
    /// The id of platform `slug`, created when new.
    pub async fn upsert_platform(&self, slug: &str, now: i64) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(UPSERT_PLATFORM).bind(slug).bind(now).fetch_one(p).await)?)
    }

    pub async fn list_platforms(&self) -> Result<Vec<Platform>, StoreError> {
        let sql = format!("{SELECT_PLATFORMS} GROUP BY p.id, p.slug, p.name ORDER BY p.slug");
        Ok(on_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?)
    }

    pub async fn find_platform_by_slug(&self, slug: &str) -> Result<Option<Platform>, StoreError> {
        let sql = format!("{SELECT_PLATFORMS} WHERE p.slug = $1 GROUP BY p.id, p.slug, p.name");
        Ok(on_pool!(self, p => sqlx::query_as(&sql).bind(slug).fetch_optional(p).await)?)
    }

    /// Deletes a platform and (by cascade) its ROM rows.
    pub async fn delete_platform(&self, id: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("DELETE FROM platforms WHERE id = $1").bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn rom_fingerprints(&self, platform_id: i64) -> Result<Vec<RomFingerprint>, StoreError> {
        const SQL: &str = "SELECT id, file_name, multi, size, mtime_ns FROM roms WHERE platform_id = $1";
        Ok(on_pool!(self, p => sqlx::query_as(SQL).bind(platform_id).fetch_all(p).await)?)
    }

    /// Inserts or updates `roms` of one platform in one transaction; returns
    /// their ids in order.
    pub async fn upsert_roms(&self, platform_id: i64, roms: &[RomUpsert], now: i64) -> Result<Vec<i64>, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut ids = Vec::with_capacity(roms.len());
            for rom in roms {
                let id: i64 = sqlx::query_scalar(UPSERT_ROM)
                    .bind(platform_id)
                    .bind(rom.file_name.as_str())
                    .bind(search_key(&rom.file_name))
                    .bind(rom.multi)
                    .bind(rom.size)
                    .bind(rom.sha256.as_deref())
                    .bind(rom.mtime_ns)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Deletes the ROM rows `ids` in one transaction.
    pub async fn delete_roms(&self, ids: &[i64]) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for id in ids {
                sqlx::query("DELETE FROM roms WHERE id = $1").bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn find_rom(&self, id: i64) -> Result<Option<Rom>, StoreError> {
        let sql = format!("SELECT {ROM_COLUMNS} FROM roms r JOIN platforms p ON p.id = r.platform_id WHERE r.id = $1");
        Ok(on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("Mario"), "%mario%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
