//! What every Custos process does before it touches a key: the app, the command line and
//! the hub call [`harden`] first in `main`.
//!
//! - **No core dumps.** A crash would otherwise write the process's memory — decrypted
//!   records, the vault identity, a passphrase being typed — to disk, where
//!   systemd-coredump, apport or a `core` file in the working folder keep it. The core
//!   size limit is set to zero (soft and hard, so a child cannot raise it again) and the
//!   process is marked not dumpable (`PR_SET_DUMPABLE`), which also stops other processes
//!   of the same user from attaching a debugger or reading its memory through `/proc`.
//! - **Memory kept out of swap, where the system allows.** `mlockall` locks every page of
//!   the process, present and future, as it is first used (`MCL_ONFAULT`: nothing is
//!   allocated ahead). It is asked for only where no later page can be refused for it:
//!   the process holds `CAP_IPC_LOCK`, or its locked-memory limit is unlimited. Under a
//!   finite limit the kernel counts every later mapping of a locked process against it
//!   and refuses memory past it — an allocation that fails aborts a Rust program — so a
//!   limit that covers the process at start (the kernel would then allow the lock) would
//!   end it later, when it opens a large vault (`tests/memory_lock.rs`). There, as under
//!   an ordinary desktop user's 8 MiB, the pages stay swappable and [`Hardening::memory`]
//!   says so. The remedy is then encrypted swap (or none), as `docs/threat-model.md` says.
//!
//! The above is Linux. Elsewhere:
//!
//! - **macOS** (and other Unix systems): the core size limit is set to zero as on Linux
//!   (macOS writes no core file by default either); there is no `PR_SET_DUMPABLE`, so
//!   [`dumpable`] is unknown and attaching a debugger is left to the system's own rules.
//!   macOS has no `mlockall` (it answers "not implemented"): [`Hardening::memory`] is
//!   then [`Memory::Unsupported`]. macOS encrypts its swap itself. The BSDs, like Linux,
//!   refuse a locked process every mapping past a finite limit (root included), so there
//!   memory is locked only under an unlimited one.
//! - **Windows**: nothing is changed. Windows writes no core file of a crashing program
//!   by default (a full dump only where an administrator configured Windows Error
//!   Reporting's `LocalDumps`; its default report holds at most a minidump of the
//!   threads' stacks), and there is no way to lock a whole process out of the page file:
//!   [`harden`] reports `no_core_dumps: false` and [`Memory::Unsupported`], because
//!   nothing was done. The page file is encrypted only where BitLocker covers the system
//!   drive.
//!
//! Nothing here reads or prints anything of a vault.

use std::fmt;

/// What [`harden`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hardening {
    /// The core size limit is zero and the process is not dumpable.
    pub no_core_dumps: bool,
    /// Whether the process's memory is locked out of swap.
    pub memory: Memory,
}

/// Whether the process's memory is kept out of swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// Every page, present and future, is locked once used.
    Locked,
    /// Not locked: the process lacks `CAP_IPC_LOCK` and its locked-memory limit is
    /// finite (locking would cost it every allocation past that limit), or the system
    /// refused. Pages may be written to swap.
    Swappable,
    /// This system has no way to ask.
    Unsupported,
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Memory::Locked => "locked out of swap",
            Memory::Swappable => {
                "not locked out of swap (the system's locked-memory limit is not unlimited): use encrypted swap"
            }
            Memory::Unsupported => "not locked out of swap on this system",
        })
    }
}

/// Turns core dumps off and locks memory out of swap where allowed. `lock_memory`:
/// false for a process that holds no key (the hub: it holds only ciphertext, and
/// locking a server's cache would only cost RAM).
pub fn harden(lock_memory: bool) -> Hardening {
    let no_core_dumps = imp::no_core_dumps();
    let memory = if lock_memory {
        imp::lock_memory()
    } else {
        Memory::Swappable
    };
    Hardening {
        no_core_dumps,
        memory,
    }
}

/// For a command-line tool only: a write to a reader that went away (`custos list |
/// head`) ends the process quietly, as it ends other command-line tools, instead of a
/// panic on the next print (Rust ignores SIGPIPE, and `println!` panics on the error).
/// Nothing acknowledged is lost by it: a vault's writes are acknowledged once durable, so
/// this ending is no worse than any crash, which the vault is built to survive.
pub fn default_sigpipe() {
    imp::default_sigpipe();
}

/// The core size limit (soft, hard) of this process, in bytes; None where unknown.
pub fn core_limit() -> Option<(u64, u64)> {
    imp::core_limit()
}

/// Whether this process may be dumped (false after [`harden`]); None where unknown.
pub fn dumpable() -> Option<bool> {
    imp::dumpable()
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use super::Memory;

    pub fn default_sigpipe() {
        // SAFETY: sets the disposition of one signal to the system's default.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }

    pub fn no_core_dumps() -> bool {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass; prctl with PR_SET_DUMPABLE takes
        // integers only. Neither touches memory of ours beyond the argument.
        let limit = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } == 0;
        let dumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } == 0;
        limit && dumpable
    }

    pub fn lock_memory() -> Memory {
        // Raise the soft limit to the hard one first: some systems give an unlimited hard
        // limit and a small soft one.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own; setrlimit reads it.
        let unlimited = unsafe {
            if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) != 0 {
                false
            } else {
                if limit.rlim_cur < limit.rlim_max
                    && libc::setrlimit(
                        libc::RLIMIT_MEMLOCK,
                        &libc::rlimit {
                            rlim_cur: limit.rlim_max,
                            rlim_max: limit.rlim_max,
                        },
                    ) == 0
                {
                    limit.rlim_cur = limit.rlim_max;
                }
                limit.rlim_cur == libc::RLIM_INFINITY
            }
        };
        // Under a finite limit, a locked process without the capability is refused every
        // page past it, and dies of it: leave such a process swappable.
        if !unlimited && !has_ipc_lock() {
            return Memory::Swappable;
        }
        // SAFETY: mlockall takes flags only.
        let locked =
            unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
        if locked == 0 {
            Memory::Locked
        } else {
            Memory::Swappable
        }
    }

    pub fn core_limit() -> Option<(u64, u64)> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        (unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) } == 0)
            .then_some((limit.rlim_cur, limit.rlim_max))
    }

    /// `CAP_IPC_LOCK` in `<linux/capability.h>` (libc does not name the capabilities).
    const CAP_IPC_LOCK: u32 = 14;

    /// Whether `CAP_IPC_LOCK` is in this process's effective set, which
    /// exempts it from the locked-memory limit.
    fn has_ipc_lock() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("CapEff:"))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            })
            .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
    }

    pub fn dumpable() -> Option<bool> {
        // SAFETY: PR_GET_DUMPABLE takes and returns integers.
        let d = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
        (d >= 0).then_some(d != 0)
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
#[allow(unsafe_code)]
mod imp {
    use super::Memory;

    pub fn default_sigpipe() {
        // SAFETY: sets the disposition of one signal to the system's default.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }

    pub fn no_core_dumps() -> bool {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) == 0 }
    }

    pub fn lock_memory() -> Memory {
        // macOS declares mlockall but does not implement it.
        if cfg!(target_vendor = "apple") {
            return Memory::Unsupported;
        }
        // The BSDs refuse a process locked with MCL_FUTURE every mapping past a finite
        // locked-memory limit, root included: lock only under an unlimited one.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0
            || limit.rlim_cur != libc::RLIM_INFINITY
        {
            return Memory::Swappable;
        }
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } == 0 {
            Memory::Locked
        } else if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
            Memory::Unsupported
        } else {
            Memory::Swappable
        }
    }

    // `rlim_t` is u64 on macOS but i64 on FreeBSD: the cast is needed on some of them.
    #[allow(clippy::unnecessary_cast)]
    pub fn core_limit() -> Option<(u64, u64)> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        (unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) } == 0)
            .then_some((limit.rlim_cur as u64, limit.rlim_max as u64))
    }

    pub fn dumpable() -> Option<bool> {
        None
    }
}

/// Windows (and any other non-Unix system): nothing to change, nothing to ask. There is
/// no SIGPIPE (a write to a reader that went away is an error, on which `println!`
/// panics: `custos list | more` quit early ends with that message), no core size
/// limit, and no call that locks a whole process out of the page file.
#[cfg(not(unix))]
mod imp {
    pub fn default_sigpipe() {}

    use super::Memory;

    pub fn no_core_dumps() -> bool {
        false
    }

    pub fn lock_memory() -> Memory {
        Memory::Unsupported
    }

    pub fn core_limit() -> Option<(u64, u64)> {
        None
    }

    pub fn dumpable() -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn after_hardening_the_process_cannot_dump_core_and_cannot_be_allowed_to_again() {
        assert_eq!(dumpable(), Some(true), "a test process starts dumpable");
        let h = harden(false);
        assert!(h.no_core_dumps);
        assert_eq!(core_limit(), Some((0, 0)));
        assert_eq!(dumpable(), Some(false));
        // The hard limit is zero: raising it again is refused to an unprivileged
        // process; a privileged one could, so only the soft limit is checked against
        // the hard one here.
        let raise = libc::rlimit {
            rlim_cur: 1 << 20,
            rlim_max: 0,
        };
        #[allow(unsafe_code)]
        // SAFETY: setrlimit reads the struct we pass.
        let r = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &raise) };
        assert_ne!(r, 0, "a soft limit above the hard zero is refused");
    }
}
