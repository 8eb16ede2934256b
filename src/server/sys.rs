//! The two operating-system settings a server of many connections needs: a high open-file
//! limit, and a listen backlog deeper than the 128 that mio and std ask for.

use std::os::fd::AsRawFd;

/// Below this many descriptors the server warns that it cannot hold many connections.
pub const COMFORTABLE: u64 = 65_536;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit in force.
pub fn raise_nofile() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer,
    // which lives on this stack frame for the duration of each call.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    Ok(lim.rlim_cur)
}

/// Pending connections the kernel may queue for `accept` (capped by `net.core.somaxconn`).
pub const BACKLOG: i32 = 4096;

/// Deepens a listening socket's accept queue; calling `listen` again on Linux changes it.
pub fn deepen_backlog(listener: &impl AsRawFd) -> std::io::Result<()> {
    // SAFETY: listen takes a descriptor and a number; the descriptor is borrowed from a live
    // listener for the duration of the call.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn raising_gives_at_least_what_there_was() {
        let n = super::raise_nofile().unwrap();
        assert!(n >= 64);
        assert_eq!(super::raise_nofile().unwrap(), n);
    }
}
