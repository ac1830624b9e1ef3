//! A results folder as a unit: one writer at a time (a lock file naming its holder), every
//! file of a run staged and then moved in, `summary.json` last, and the files of an earlier,
//! different run removed (a manifest lists what each run wrote). A folder thus holds either the
//! old complete results or the new ones, never a mix.

use crate::error::Error;
use std::path::{Path, PathBuf};

/// The lock file of a folder being written.
pub const LOCK: &str = ".stdp-flow.lock";
/// The list of files the last completed run wrote.
pub const MANIFEST: &str = ".stdp-flow-manifest";
/// The summary of a run in progress (what `--resume` continues).
pub const PARTIAL: &str = "summary.partial.json";
/// The rows of a run in progress.
pub const PARTIAL_ROWS: &str = "rows.partial.csv";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Exclusive use of a results folder while it is written; released when dropped.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    /// The folder, if taking the lock created it (removed again if it is left empty).
    created: Option<PathBuf>,
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.created {
            // Fails unless empty: a run that wrote nothing leaves no folder behind.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Whether a process with this id is running (Linux: /proc; elsewhere assumed running).
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Creates `dir` if needed, checks that it is writable, and takes its lock. A lock held by a
/// running process is an error naming it; a lock left by a process that is gone is taken over.
///
/// The lock file appears with its holder's pid already in it (written to a private file, then
/// hard-linked into place, which fails if the lock exists), so no other process can read it
/// empty. A stale lock is first renamed to a private name and checked there, so two processes
/// that find the same stale lock cannot both take the folder: only one rename succeeds, and a
/// live lock renamed by mistake is linked back.
pub fn lock(dir: &Path) -> Result<OutputLock, Error> {
    let created = (!dir.exists()).then(|| dir.to_path_buf());
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(LOCK);
    let me = std::process::id();
    let mine = dir.join(format!("{LOCK}.{me}"));
    let taken = std::fs::write(&mine, format!("{me}\n"))
        .map_err(io(&mine))
        .and_then(|()| take(dir, &path, &mine, me));
    let _ = std::fs::remove_file(&mine);
    if taken.is_err()
        && let Some(dir) = &created
    {
        let _ = std::fs::remove_dir(dir);
    }
    taken.map(|()| OutputLock { path, created })
}

/// The attempts of [`lock`]: link `mine` to `path`, or take a stale `path` over.
fn take(dir: &Path, path: &Path, mine: &Path, me: u32) -> Result<(), Error> {
    let holder = |file: &Path| {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        text.trim().parse::<u32>().ok()
    };
    let busy = |pid: u32| Error::Results {
        path: dir.to_path_buf(),
        problem: format!(
            "is being written by another stdp-flow process (pid {pid}, lock file {LOCK})"
        ),
        fix: "wait for that process to finish, or choose another --out".into(),
    };
    for _ in 0..3 {
        match std::fs::hard_link(mine, path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // A file system without hard links: create the lock directly.
            Err(_) => return create(path, me),
        }
        match holder(path) {
            Some(pid) if pid != me && alive(pid) => return Err(busy(pid)),
            seen => {
                let aside = dir.join(format!("{LOCK}.stale.{me}"));
                if std::fs::rename(path, &aside).is_err() {
                    continue; // another process moved it first
                }
                let now = holder(&aside);
                if now != seen && now.is_some_and(|pid| pid != me && alive(pid)) {
                    // A live lock replaced the stale one between the two reads: put it back.
                    let _ = std::fs::hard_link(&aside, path);
                    let _ = std::fs::remove_file(&aside);
                    return Err(busy(now.unwrap_or_default()));
                }
                let _ = std::fs::remove_file(&aside);
            }
        }
    }
    Err(Error::Results {
        path: dir.to_path_buf(),
        problem: format!("cannot take the lock {LOCK}"),
        fix: format!(
            "remove {} if no stdp-flow process is writing here, then run again",
            path.display()
        ),
    })
}

/// The lock taken without a hard link (the file is briefly empty before the pid is written).
fn create(path: &Path, me: u32) -> Result<(), Error> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io(path))?;
    writeln!(f, "{me}").map_err(io(path))
}

/// A staging folder inside `dir` for one run's files.
pub fn stage(dir: &Path) -> Result<PathBuf, Error> {
    let stage = dir.join(format!(".stage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage).map_err(io(&stage))?;
    Ok(stage)
}

/// Moves the staged `files` (names inside `stage`) into `dir`, `summary.json` last; removes the
/// files that the previous manifest lists and this run did not write, and the partial files of
/// a run in progress; writes the new manifest. Returns the paths written.
pub fn publish(dir: &Path, stage: &Path, files: &[String]) -> Result<Vec<PathBuf>, Error> {
    let mut order: Vec<&String> = files.iter().filter(|f| *f != "summary.json").collect();
    order.extend(files.iter().filter(|f| *f == "summary.json"));
    let old: Vec<String> = std::fs::read_to_string(dir.join(MANIFEST))
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default();
    for name in &order {
        std::fs::rename(stage.join(name), dir.join(name)).map_err(io(&dir.join(name)))?;
    }
    let _ = std::fs::remove_dir_all(stage);
    for name in old.iter().filter(|o| !files.contains(o)) {
        if !name.contains('/') && !name.starts_with('.') {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    for name in [PARTIAL, PARTIAL_ROWS] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let list: String = files.iter().map(|f| format!("{f}\n")).collect();
    super::write_atomic(&dir.join(MANIFEST), list.as_bytes())?;
    Ok(files.iter().map(|f| dir.join(f)).collect())
}

/// Writes every file of a run with `write(stage) -> names` into a staging folder, then
/// publishes them; on error the staging folder is removed and `dir` is left as it was.
pub fn write_staged(
    dir: &Path,
    write: impl FnOnce(&Path) -> Result<Vec<String>, Error>,
) -> Result<Vec<PathBuf>, Error> {
    let st = stage(dir)?;
    match write(&st) {
        Ok(names) => publish(dir, &st, &names).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&st);
        }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&st);
            Err(e)
        }
    }
}

/// Removes the temporary files and folders that an interrupted write of this module, of
/// `write_atomic` or of the figures left in `dir`.
pub fn clean_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            && (name.contains(".tmp-")
                || name.starts_with(".figures-")
                || name.starts_with(".stage-"))
        {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stale lock (a process that is gone, or an unreadable file) is taken over and the lock
    /// file then names this process; a live holder refuses; no private file is left behind.
    #[test]
    fn stale_locks_are_taken_over_and_live_ones_refuse() {
        let dir = std::env::temp_dir().join(format!("stdp-flow-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let me = std::process::id();
        for stale in ["4000000000\n", "", "garbage"] {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(LOCK), stale).unwrap();
            let held = lock(&dir).unwrap();
            let text = std::fs::read_to_string(dir.join(LOCK)).unwrap();
            assert_eq!(text.trim(), me.to_string());
            drop(held);
            let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
            assert!(left.is_empty(), "{stale:?}: {left:?}");
        }
        // pid 1 (init) is always alive on Linux.
        if cfg!(target_os = "linux") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(LOCK), "1\n").unwrap();
            let e = lock(&dir).unwrap_err().to_string();
            assert!(e.contains("pid 1"), "{e}");
            assert_eq!(std::fs::read_to_string(dir.join(LOCK)).unwrap(), "1\n");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
