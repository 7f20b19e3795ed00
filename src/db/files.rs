//! The service's files on disk are its own: the data folder is created (or tightened to) mode
//! 0700 and the SQLite database 0600, whatever the umask, since they hold every passport and
//! the signing keys.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::BackendKind;
use crate::error::Error;

const FOLDER_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Internal(format!("{}: {e}", path.display()))
}

/// Takes away group and other access from an existing file or folder.
fn tighten(path: &Path, mode: u32) -> Result<(), Error> {
    let current = fs::metadata(path).map_err(io(path))?.permissions().mode() & 0o777;
    if current & !mode != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{current:o}"), "tightening permissions to {mode:o}");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io(path))?;
    }
    Ok(())
}

/// Creates a folder (and its parents) readable by the service's user alone, or tightens it.
pub fn private_folder(path: &Path) -> Result<(), Error> {
    if !path.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(FOLDER_MODE)
            .create(path)
            .map_err(io(path))?;
    }
    tighten(path, FOLDER_MODE)
}

/// For an SQLite database: creates its file with mode 0600 before SQLite does (SQLite gives its
/// write-ahead log and shared-memory files the database file's mode), and tightens the files
/// that exist. Nothing to do for PostgreSQL.
pub fn private_database(url: &str) -> Result<(), Error> {
    if BackendKind::of_url(url) != BackendKind::Sqlite {
        return Ok(());
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    if path.starts_with(':') || path.starts_with("file:") || path.is_empty() {
        return Ok(());
    }
    let path = Path::new(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        private_folder(parent)?;
    }
    if !path.exists() {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(path)
            .map_err(io(path))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = Path::new(&format!("{}{suffix}", path.display())).to_path_buf();
        if file.exists() {
            tighten(&file, FILE_MODE)?;
        }
    }
    Ok(())
}
