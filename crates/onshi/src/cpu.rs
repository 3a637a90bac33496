//! CPU time of processes, read from Linux's `/proc`, for `onshi loadgen --cpu-of`: how much
//! processor time the server, the database and the load generator itself spent per check during
//! the timed phase. On two cores shared by all three, that sum times the rate is the machine's
//! whole capacity, so it says what bounds a figure and what a change would move.

use std::collections::HashMap;

/// Linux reports `/proc/PID/stat` times in USER_HZ, which is 100 on every architecture
/// (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// Which processes one label stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// This process (the load generator).
    Myself,
    /// One process by id.
    Pid(u32),
    /// Every process of this name (`/proc/PID/comm`), those started during the run included:
    /// `postgres` covers the backends, the WAL writer and the checkpointer.
    Named(String),
}

/// One `--cpu-of LABEL=PID|NAME` argument.
pub fn parse(arg: &str) -> Result<(String, Watched), String> {
    let (label, spec) = arg
        .split_once('=')
        .filter(|(l, s)| !l.is_empty() && !s.is_empty())
        .ok_or_else(|| format!("--cpu-of: '{arg}' is not LABEL=PID or LABEL=NAME"))?;
    let watched = match spec.parse::<u32>() {
        Ok(pid) => Watched::Pid(pid),
        Err(_) => Watched::Named(spec.to_owned()),
    };
    Ok((label.to_owned(), watched))
}

/// User plus system time in ticks from the text of `/proc/PID/stat`. The command name (field 2)
/// is in parentheses and may itself hold spaces and parentheses, so fields are counted from the
/// last `)`: state is the first after it, utime the 12th and stime the 13th.
fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_of(pid: &str) -> Option<u64> {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Ticks per process of what `watched` stands for, now.
fn sample(watched: &Watched) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    match watched {
        Watched::Myself => {
            out.extend(ticks_of("self").map(|t| ("self".to_owned(), t)));
        }
        Watched::Pid(pid) => {
            out.extend(ticks_of(&pid.to_string()).map(|t| (pid.to_string(), t)));
        }
        Watched::Named(name) => {
            let Ok(dir) = std::fs::read_dir("/proc") else {
                return out;
            };
            for entry in dir.flatten() {
                let pid = entry.file_name().to_string_lossy().into_owned();
                if !pid.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                if comm.trim_end() == name
                    && let Some(t) = ticks_of(&pid)
                {
                    out.insert(pid, t);
                }
            }
        }
    }
    out
}

/// CPU samples taken at the start of a timed phase.
#[derive(Debug)]
pub struct CpuMeter {
    watched: Vec<(String, Watched, HashMap<String, u64>)>,
}

impl CpuMeter {
    /// Samples `watched` (with the load generator itself as `loadgen`) now.
    pub fn start(watched: &[(String, Watched)]) -> Self {
        let mut all = vec![("loadgen".to_owned(), Watched::Myself)];
        all.extend(watched.iter().cloned());
        Self {
            watched: all
                .into_iter()
                .map(|(label, w)| {
                    let at_start = sample(&w);
                    (label, w, at_start)
                })
                .collect(),
        }
    }

    /// Microseconds of CPU per check since [`CpuMeter::start`], by label: `None` for a label
    /// whose processes could not be read (no `/proc`, or gone). A process that started
    /// meanwhile counts from zero; one that ended meanwhile is not counted.
    pub fn per_check(&self, checks: usize) -> Vec<(String, Option<f64>)> {
        self.watched
            .iter()
            .map(|(label, w, at_start)| {
                let now = sample(w);
                let used = (!now.is_empty()).then(|| {
                    now.iter()
                        .map(|(pid, t)| t.saturating_sub(at_start.get(pid).copied().unwrap_or(0)))
                        .sum::<u64>()
                });
                let per = used.map(|t| t as f64 / TICKS_PER_SECOND * 1e6 / checks.max(1) as f64);
                (label.clone(), per)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_after_the_command_name() {
        // A command name with spaces and a parenthesis; utime 1234, stime 56.
        let stat = "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 3141 0 0 0 1234 56 0 0 20 0 3 0";
        assert_eq!(stat_ticks(stat), Some(1290));
        assert_eq!(stat_ticks("4242 (x) S 1"), None);
        assert_eq!(stat_ticks("no parenthesis"), None);
    }

    #[test]
    fn arguments_name_a_pid_or_a_process_name() {
        assert_eq!(
            parse("server=1234"),
            Ok(("server".to_owned(), Watched::Pid(1234)))
        );
        assert_eq!(
            parse("db=postgres"),
            Ok(("db".to_owned(), Watched::Named("postgres".to_owned())))
        );
        assert!(parse("1234").is_err());
        assert!(parse("=1234").is_err());
        assert!(parse("server=").is_err());
    }

    #[test]
    fn the_meter_counts_this_process_busy() {
        let meter = CpuMeter::start(&[]);
        let until = std::time::Instant::now() + std::time::Duration::from_millis(300);
        let mut spin = 0u64;
        while std::time::Instant::now() < until {
            spin = spin.wrapping_add(1);
        }
        assert!(spin > 0);
        let per = meter.per_check(1);
        assert_eq!(per[0].0, "loadgen");
        // 300 ms of spinning, counted in 10 ms ticks: at least 20 ms seen even on a machine
        // busy with other tests.
        assert!(per[0].1.is_some_and(|us| us >= 20_000.0), "{per:?}");
    }
}
