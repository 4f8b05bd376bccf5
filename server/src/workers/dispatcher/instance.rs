//! This instance's name as a lease holder, kept in the data directory so that a
//! restarted process (after a crash or a kill -9) recognises the leases its previous
//! run held and resumes that work at once instead of waiting for them to lapse.
//!
//! The file is locked while the process runs: a second process on the same data
//! directory (or a second dispatcher in one process) gets a name of its own, so two
//! live dispatchers never share one.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The claimed name, and the locked file that keeps it ours while we run.
pub struct Instance {
    pub holder: String,
    _lock: Option<File>,
}

/// A name no other process has used.
pub fn fresh_holder() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    format!("{}-{}-{nanos}", std::process::id(), crate::db::now_ms())
}

/// Claims the name in `<data_dir>/dispatch-instance`, creating it on first use. Falls
/// back to a fresh, unsaved name when the file is in use or cannot be written.
pub fn claim(data_dir: &Path) -> Instance {
    let path = data_dir.join("dispatch-instance");
    match claim_file(&path) {
        Ok(Some(claimed)) => claimed,
        Ok(None) => {
            tracing::info!(path = %path.display(), "another dispatcher runs on this data directory; this one takes a name of its own");
            Instance { holder: fresh_holder(), _lock: None }
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not keep the dispatcher's name; a restart will wait for its old leases");
            Instance { holder: fresh_holder(), _lock: None }
        }
    }
}

fn claim_file(path: &Path) -> std::io::Result<Option<Instance>> {
    let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    let mut saved = String::new();
    file.read_to_string(&mut saved)?;
    let saved = saved.trim();
    let holder = if saved.is_empty() || saved.len() > 100 {
        let holder = fresh_holder();
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(holder.as_bytes())?;
        file.sync_all()?;
        holder
    } else {
        tracing::info!(holder = saved, "resuming as the previous run's dispatcher: its leases are ours at once");
        saved.to_string()
    };
    Ok(Some(Instance { holder, _lock: Some(file) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_keeps_the_name_and_a_second_dispatcher_gets_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let first = claim(dir.path());
        let second = claim(dir.path());
        assert_ne!(first.holder, second.holder, "two live dispatchers never share a name");
        let name = first.holder.clone();
        drop(first);
        assert_eq!(claim(dir.path()).holder, name, "the next run takes the saved name");
    }
}
