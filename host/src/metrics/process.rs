//! The standard `process_*` metrics (the names Prometheus' own client libraries export, so existing
//! dashboards and alerts work unchanged), read from `/proc/self` on each scrape.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// What `/proc/self` says about this process now.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    cpu_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    start_time_seconds: f64,
    threads: u64,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
}

/// Fields of `/proc/self/stat` after the command name (which may hold spaces and parentheses, so the
/// line is split after its last `)`), numbered from 3 as proc(5) numbers them.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().collect())
}

/// Parses `/proc/self/stat` with the kernel's clock tick, page size and boot time (`btime` of
/// `/proc/stat`, seconds since the epoch).
fn parse_stat(
    stat: &str,
    ticks_per_second: f64,
    page_size: u64,
    boot_time: u64,
) -> Option<Reading> {
    let fields = stat_fields(stat)?;
    // proc(5) field n is fields[n - 3].
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let (utime, stime) = (field(14)?, field(15)?);
    Some(Reading {
        cpu_seconds: (utime + stime) as f64 / ticks_per_second,
        threads: field(20)?,
        start_time_seconds: boot_time as f64 + field(22)? as f64 / ticks_per_second,
        virtual_bytes: field(23)?,
        resident_bytes: field(24)? * page_size,
        open_fds: None,
        max_fds: None,
    })
}

/// The soft limit on open files, from `/proc/self/limits`.
fn parse_max_fds(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot = boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as u64;
    let mut reading = parse_stat(&stat, ticks, page, boot)?;
    reading.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|fds| fds.count() as u64);
    reading.max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| parse_max_fds(&l));
    Some(reading)
}

/// Collects the process metrics on each scrape; exports nothing where `/proc` cannot be read.
#[derive(Debug)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(r) = read() else { return Ok(()) };
        let cpu = ConstCounter::new(r.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size, in bytes",
                Some(r.resident_bytes as f64),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size, in bytes",
                Some(r.virtual_bytes as f64),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds",
                Some(r.start_time_seconds),
            ),
            (
                "process_threads",
                "Operating system threads in the process",
                Some(r.threads as f64),
            ),
            (
                "process_open_fds",
                "Open file descriptors",
                r.open_fds.map(|n| n as f64),
            ),
            (
                "process_max_fds",
                "The limit on open file descriptors",
                r.max_fds.map(|n| n as f64),
            ),
        ];
        for (name, help, value) in gauges {
            let Some(value) = value else { continue };
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_a_command_name_with_spaces_and_parentheses() {
        // A real line's shape, with a hostile command name; utime 250 and stime 150 ticks, 7 threads,
        // started 1000 ticks after boot, 2 MiB virtual, 100 pages resident.
        let stat = "42 (pa) lis (ade)) S 1 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 7 0 1000 \
                    2097152 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let r = parse_stat(stat, 100.0, 4096, 1_700_000_000).unwrap();
        assert_eq!(
            r,
            Reading {
                cpu_seconds: 4.0,
                resident_bytes: 409_600,
                virtual_bytes: 2_097_152,
                start_time_seconds: 1_700_000_010.0,
                threads: 7,
                open_fds: None,
                max_fds: None,
            }
        );
        assert_eq!(parse_stat("42 (truncated", 100.0, 4096, 0), None);
        assert_eq!(parse_stat("42 (x) S 1 2", 100.0, 4096, 0), None);
    }

    #[test]
    fn the_open_files_limit_and_boot_time_are_read_from_their_tables() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             96369                96369                processes\n\
                      Max open files            20000                40000                files\n";
        assert_eq!(parse_max_fds(limits), Some(20_000));
        assert_eq!(
            parse_max_fds("Max open files unlimited unlimited files"),
            None
        );
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1764950000\nprocesses 9\n"),
            Some(1_764_950_000)
        );
    }

    #[test]
    fn this_process_reads_as_itself() {
        let r = read().expect("/proc/self is readable on Linux");
        assert!(r.resident_bytes > 0 && r.threads >= 1 && r.open_fds.unwrap() >= 3);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        // Started a moment ago.
        assert!(r.start_time_seconds <= now + 1.0 && r.start_time_seconds > now - 86_400.0);
    }
}
