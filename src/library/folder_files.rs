//! The files of a multi-file game (a folder), listed and opened one by one.
//! Guarantees, on top of `paths`: a requested name is one plain path
//! component, checked before any file system call; the folder and the file
//! are canonicalised and must lie under the library root; only the
//! folder's own regular files are listed (no subfolders, no symbolic
//! links), and only a regular file is opened.

use super::paths::{self, check_name};
use super::{Library, RomFile, rom_path};
use crate::error::{AppError, AppResult, Code};
use crate::store::Rom;

fn not_a_folder() -> AppError {
    AppError::bad_request(
        Code::InvalidRequest,
        "This game is a single file: download it as a whole.",
    )
}

fn io_error(what: &std::path::Path, err: std::io::Error) -> AppError {
    if paths::leads_nowhere(&err) {
        paths::missing_file()
    } else {
        AppError::internal_from(format!("reading {}", what.display()), err)
    }
}

impl Library {
    /// Folder ROM `id`, or a refusal for a single-file one.
    async fn folder_rom(&self, id: i64) -> AppResult<Rom> {
        let rom = self.rom(id).await?;
        if rom.multi { Ok(rom) } else { Err(not_a_folder()) }
    }

    /// The names of the regular files directly in folder ROM `id`, sorted.
    pub async fn folder_files(&self, id: i64) -> AppResult<Vec<String>> {
        let rom = self.folder_rom(id).await?;
        let root = self.canonical_root().await?;
        let dir = paths::resolve_inside(&root, &rom_path(&root, &rom)?).await?;
        let mut entries = tokio::fs::read_dir(&dir).await.map_err(|e| io_error(&dir, e))?;
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(|e| io_error(&dir, e))? {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // file_type does not follow links: a link is not offered.
            let is_file = entry.file_type().await.is_ok_and(|t| t.is_file());
            if is_file && check_name("file name", &name).is_ok() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Opens file `name` of folder ROM `id` for download.
    pub async fn open_folder_file(&self, id: i64, name: &str) -> AppResult<RomFile> {
        check_name("file name", name)?;
        let rom = self.folder_rom(id).await?;
        let root = self.canonical_root().await?;
        let path = paths::resolve_inside(&root, &rom_path(&root, &rom)?.join(name)).await?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| io_error(&path, e))?;
        let meta = file.metadata().await.map_err(|e| io_error(&path, e))?;
        if !meta.is_file() {
            return Err(paths::missing_file());
        }
        Ok(RomFile::new(file, &meta, rom.id, name.to_string()))
    }
}
