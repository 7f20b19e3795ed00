//! The service's global allocator, chosen once per process by `PASSPORT_ALLOCATOR`: `system`
//! (the C library's malloc) or `mimalloc`.
//!
//! The choice is a run-time setting, not a build feature, so that one binary can be measured on
//! both (the load benchmark runs the same scenarios on each, side by side). The allocator cannot
//! read the command line or log, as both allocate: it reads the environment with `getenv`, which
//! does not allocate, at its own first call, before `main`, and never changes after, so every
//! block is freed by the allocator that gave it. An unknown value leaves the default in place;
//! [`check_setting`] tells the service at start-up, so that a typo is refused instead of
//! ignored. Memory that C libraries allocate themselves (SQLite, libpq) always comes from the C
//! library's malloc.
//!
//! On glibc, choosing the system allocator also tunes it for a long-running server's resident
//! memory (see `tune_glibc`), unless the operator tuned it through glibc's own environment.
//!
//! `main.rs` installs [`Chosen`] as the binary's `#[global_allocator]`; the tests and the
//! benchmark's own process keep the system allocator as it comes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that chooses the allocator.
pub const VARIABLE: &str = "PASSPORT_ALLOCATOR";

/// The same, for `getenv`.
const VARIABLE_C: &CStr = c"PASSPORT_ALLOCATOR";

/// A global allocator the service can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// The C library's malloc (glibc's on Linux, tuned for resident memory).
    System,
    /// Microsoft's mimalloc, built from the `mimalloc` crate's bundled sources.
    Mimalloc,
}

/// The allocator when `PASSPORT_ALLOCATOR` is not set.
pub const DEFAULT: Allocator = Allocator::System;

impl Allocator {
    /// Both, the default first.
    pub const ALL: [Allocator; 2] = match DEFAULT {
        Allocator::System => [Allocator::System, Allocator::Mimalloc],
        Allocator::Mimalloc => [Allocator::Mimalloc, Allocator::System],
    };

    /// The setting's value that names it.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::System => "system",
            Allocator::Mimalloc => "mimalloc",
        }
    }

    /// The allocator a setting's value names, if any.
    pub fn parse(value: &[u8]) -> Option<Allocator> {
        Allocator::ALL
            .into_iter()
            .find(|a| a.name().as_bytes().eq_ignore_ascii_case(value))
    }

    fn code(self) -> u8 {
        match self {
            Allocator::System => 1,
            Allocator::Mimalloc => 2,
        }
    }
}

/// Not chosen yet: no allocation has been made.
const UNDECIDED: u8 = 0;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// An environment variable's value, read without allocating.
fn env(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: `getenv` answers null or a pointer to a NUL-terminated string in the environment,
    // which stays valid while nothing changes the environment; the service never does (and the
    // allocator reads it before `main`, before any other thread exists).
    unsafe {
        let value = libc::getenv(name.as_ptr());
        (!value.is_null()).then(|| CStr::from_ptr(value).to_bytes())
    }
}

/// The setting's raw value.
fn setting() -> Option<&'static [u8]> {
    env(VARIABLE_C)
}

/// Tunes glibc's malloc for the service's resident memory, where the operator has not tuned it
/// (`GLIBC_TUNABLES`, `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`):
///
/// - At most one arena per core (at least two), instead of eight per core: every arena keeps
///   what its threads freed, for the next allocation from that arena only.
/// - A fixed mmap threshold of 128 KiB (glibc's starting value). Left to itself, glibc raises
///   the threshold to the largest block freed, up to 32 MiB; after the first client-secret check
///   (argon2id's 19 MiB) such blocks came from the arenas and stayed resident after they were
///   freed, one per arena. Fixed, every block above it is mapped for itself and returned when
///   freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_glibc() {
    if env(c"GLIBC_TUNABLES").is_some() {
        return;
    }
    // SAFETY: `mallopt` and `sysconf` only set and read glibc's own settings; they are called
    // once, at the first allocation, before any other thread exists.
    unsafe {
        if env(c"MALLOC_ARENA_MAX").is_none() {
            let cores = libc::sysconf(libc::_SC_NPROCESSORS_ONLN).clamp(2, 1024);
            libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
        }
        if env(c"MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_glibc() {}

/// The allocator in use; chosen at the first call, for the rest of the process.
pub fn in_use() -> Allocator {
    match CHOICE.load(Ordering::Relaxed) {
        1 => Allocator::System,
        2 => Allocator::Mimalloc,
        _ => {
            let chosen = setting().and_then(Allocator::parse).unwrap_or(DEFAULT);
            // Two threads' first calls read the same environment; whichever stores first wins,
            // and both answer what was stored.
            match CHOICE.compare_exchange(
                UNDECIDED,
                chosen.code(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if chosen == Allocator::System {
                        tune_glibc();
                    }
                    chosen
                }
                Err(_) => in_use(),
            }
        }
    }
}

/// Refuses a `PASSPORT_ALLOCATOR` that names no allocator, which [`in_use`] could only ignore.
pub fn check_setting() -> Result<(), String> {
    match setting() {
        Some(value) if Allocator::parse(value).is_none() => Err(format!(
            "{VARIABLE} is {:?}: set it to system or mimalloc, or leave it unset",
            String::from_utf8_lossy(value)
        )),
        _ => Ok(()),
    }
}

/// The global allocator that hands every call to the allocator [`in_use`].
pub struct Chosen;

// SAFETY: each call goes to an allocator that upholds `GlobalAlloc`'s contract, and always the
// same one: the choice is made before the first block is given out and never changes, so a
// block is freed or resized by the allocator that gave it.
unsafe impl GlobalAlloc for Chosen {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match in_use() {
            // SAFETY: the caller's guarantees are passed on unchanged.
            Allocator::System => unsafe { System.alloc(layout) },
            Allocator::Mimalloc => unsafe { mimalloc::MiMalloc.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match in_use() {
            // SAFETY: as for `alloc`.
            Allocator::System => unsafe { System.alloc_zeroed(layout) },
            Allocator::Mimalloc => unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match in_use() {
            // SAFETY: `ptr` came from the same allocator (see above).
            Allocator::System => unsafe { System.dealloc(ptr, layout) },
            Allocator::Mimalloc => unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match in_use() {
            // SAFETY: `ptr` came from the same allocator (see above).
            Allocator::System => unsafe { System.realloc(ptr, layout, new_size) },
            Allocator::Mimalloc => unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_names_an_allocator_or_none() {
        assert_eq!(Allocator::parse(b"system"), Some(Allocator::System));
        assert_eq!(Allocator::parse(b"MiMalloc"), Some(Allocator::Mimalloc));
        assert_eq!(Allocator::parse(b"jemalloc"), None);
        assert_eq!(Allocator::parse(b""), None);
        assert_eq!(Allocator::ALL[0], DEFAULT);
    }
}
