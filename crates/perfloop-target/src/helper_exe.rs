//! The executable that provides perfloop's hidden helper modes: `__supervise` (the
//! supervisor of a managed target, [`crate::supervise()`]) and `__measure` (the measuring
//! parent of a benchmarked command, [`crate::measure()`]).
//!
//! In production it is the perfloop binary itself, re-executed; tests point at a small
//! binary that dispatches the same modes.

use std::io;
use std::path::{Path, PathBuf};

/// Which executable runs the helper modes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HelperExe {
    /// The running executable (`std::env::current_exe()`): the perfloop binary, which
    /// dispatches `__supervise` and `__measure` before anything else.
    #[default]
    CurrentExe,
    /// Another program that dispatches the modes the same way (a test helper).
    Program(PathBuf),
}

impl HelperExe {
    /// The absolute path of the executable.
    pub fn resolve(&self) -> io::Result<PathBuf> {
        match self {
            HelperExe::CurrentExe => std::env::current_exe(),
            HelperExe::Program(p) => Ok(absolute(p)),
        }
    }
}

/// `path` made absolute against the current directory.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path))
}
