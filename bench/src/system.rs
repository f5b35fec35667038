//! What the benchmark needs from the operating system: the machine description, core pinning,
//! file limits, and per-process memory and CPU (and finding a process) from `/proc`.

use std::io;

/// Cores and memory, for the header of every result.
pub struct Machine {
    pub cores: usize,
    pub memory_gib: f64,
    /// The numbers of the cores this process may run on (pinning splits these).
    pub core_ids: Vec<usize>,
}

impl Machine {
    pub fn detect() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mem_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            })
            .unwrap_or(0);
        Self {
            cores,
            memory_gib: mem_kib as f64 / 1_048_576.0,
            core_ids: allowed_cores().unwrap_or_else(|| (0..cores).collect()),
        }
    }
}

/// The cores this process may run on: a container or `taskset` may allow cores 4-7 only, and
/// pinning to cores it may not use would fail.
fn allowed_cores() -> Option<Vec<usize>> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    let ids: Vec<usize> = (0..nix::sched::CpuSet::count())
        .filter(|core| set.is_set(*core).unwrap_or(false))
        .collect();
    (!ids.is_empty()).then_some(ids)
}

/// Which cores the servers (the wcc lattice, the baseline, the Socket.IO server) and the load
/// generator use.
#[derive(Clone, Debug)]
pub struct Pinning {
    pub servers: Vec<usize>,
    pub load: Vec<usize>,
}

impl Pinning {
    /// The first half of `core_ids` for the servers, the rest for the load generator, from two
    /// cores up: on two, every server process (the whole wcc lattice, the baseline or the
    /// Socket.IO server) gets core 0 and the load generator core 1, so the load generator
    /// never takes CPU from the server it measures. None when disabled or on one core.
    pub fn plan(core_ids: &[usize], enabled: bool) -> Option<Self> {
        if !enabled || core_ids.len() < 2 {
            return None;
        }
        let (servers, load) = core_ids.split_at(core_ids.len() / 2);
        Some(Self {
            servers: servers.to_vec(),
            load: load.to_vec(),
        })
    }

    pub fn describe(pinning: Option<&Self>) -> String {
        match pinning {
            Some(p) => format!(
                "servers pinned to cores {:?}, load generator to cores {:?}",
                p.servers, p.load
            ),
            None => "not pinned: servers and load generator share every core".into(),
        }
    }
}

fn cpu_set(cores: &[usize]) -> nix::Result<nix::sched::CpuSet> {
    let mut set = nix::sched::CpuSet::new();
    for core in cores {
        set.set(*core)?;
    }
    Ok(set)
}

/// Pins the calling thread; threads it starts afterwards inherit the set.
pub fn pin_current_thread(cores: &[usize]) -> io::Result<()> {
    let set = cpu_set(cores).map_err(io::Error::from)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(io::Error::from)
}

/// Makes a child process start pinned to `cores` (and everything it starts in turn).
pub fn pin_child(command: &mut tokio::process::Command, cores: &[usize]) -> io::Result<()> {
    let set = cpu_set(cores).map_err(io::Error::from)?;
    // SAFETY: sched_setaffinity is a plain syscall, safe between fork and exec.
    unsafe {
        command.pre_exec(move || {
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
                .map_err(io::Error::from)
        });
    }
    Ok(())
}

/// Makes `command`'s process get SIGTERM when the benchmark dies, even killed outright (no drop
/// runs then), so no server it started outlives it. The signal follows the thread that spawned,
/// and the runtime's worker threads live as long as the benchmark.
pub fn die_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(io::Error::from)
        });
    }
}

/// Raises this process's open-file limit to its hard limit (children inherit it); returns it.
pub fn raise_open_files() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((_, hard)) => {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
            hard
        }
        Err(_) => 1024,
    }
}

/// Resident memory (bytes) and user+system CPU seconds of a process (`"self"` or a pid).
pub fn process_usage(pid: &str) -> Option<(u64, f64)> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((resident_pages * 4096, ticks as f64 / 100.0))
}

/// The pid of a running process whose command line has every one of `args` among its words
/// (a lattice's host, say, by its subcommand and its NATS URL).
pub fn find_process(args: &[&str]) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.iter()
                .all(|arg| words.contains(&arg.as_bytes()))
                .then_some(pid)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cores_put_the_servers_on_the_first_and_the_load_on_the_second() {
        let p = Pinning::plan(&[0, 1], true).unwrap();
        assert_eq!((p.servers, p.load), (vec![0], vec![1]));
    }

    #[test]
    fn more_cores_are_split_in_halves_of_the_cores_allowed() {
        let p = Pinning::plan(&[0, 1, 2, 3, 4, 5, 6, 7], true).unwrap();
        assert_eq!((p.servers, p.load), (vec![0, 1, 2, 3], vec![4, 5, 6, 7]));
        // An odd count gives the load generator the extra core; the ids are the allowed ones.
        let p = Pinning::plan(&[4, 5, 7], true).unwrap();
        assert_eq!((p.servers, p.load), (vec![4], vec![5, 7]));
    }

    #[test]
    fn one_core_or_no_pin_shares_everything() {
        assert!(Pinning::plan(&[0], true).is_none());
        assert!(Pinning::plan(&[0, 1, 2, 3], false).is_none());
        assert_eq!(
            Pinning::describe(None),
            "not pinned: servers and load generator share every core"
        );
    }
}
