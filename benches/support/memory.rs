//! The service process's memory, read from `/proc`: its resident size, and its peak, which the
//! benchmark resets before each scenario so that each row shows its own.

/// One field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`) or as a count (`Threads`); 0 once
/// the process has gone.
fn status_field(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|value| value.split_whitespace().next())
                .and_then(|value| value.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

/// The resident size now (VmRSS), in MiB.
pub fn resident_mib(pid: u32) -> f64 {
    status_field(pid, "VmRSS") / 1024.0
}

/// The peak resident size since start-up or the last [`reset_peak`] (VmHWM), in MiB.
pub fn peak_mib(pid: u32) -> f64 {
    status_field(pid, "VmHWM") / 1024.0
}

/// The process's threads now.
pub fn threads(pid: u32) -> usize {
    status_field(pid, "Threads") as usize
}

/// Sets the peak resident size back to the resident size now (Linux: `5` to `clear_refs`).
pub fn reset_peak(pid: u32) {
    if let Err(error) = std::fs::write(format!("/proc/{pid}/clear_refs"), "5") {
        eprintln!("cannot reset the service's peak memory: {error}");
    }
}
