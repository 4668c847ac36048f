//! The real-program row: one program run under glibc's malloc and under
//! Heaplab's lean heap with each policy (`LD_PRELOAD` of the
//! `heaplab-preload` library), its wall time (the best of several runs,
//! interleaved) and its peak resident memory (`ru_maxrss` from `wait4`),
//! side by side. Linux only.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The program: Python building dicts of lists of strings, serializing,
/// reading back and sorting them (the preload tests' workload), every object
/// from malloc (`PYTHONMALLOC=malloc`).
pub const PYTHON_WORKLOAD: &str = include_str!("../../preload/programs/workload.py");

/// One run's wall time and peak RSS (KiB), or an error naming what failed.
fn run_once(python: &str, preload: Option<(&str, &str)>) -> Result<(Duration, u64), String> {
    let mut cmd = Command::new(python);
    cmd.args(["-c", PYTHON_WORKLOAD]).env("PYTHONHASHSEED", "0").env("PYTHONMALLOC", "malloc").stdout(Stdio::null()).stderr(Stdio::piped());
    if let Some((so, policy)) = preload {
        cmd.env("LD_PRELOAD", so).env("HEAPLAB_POLICY", policy);
    }
    let started = Instant::now();
    let child = cmd.spawn().map_err(|e| format!("{python} did not start: {e}"))?;
    // SAFETY: rusage is plain integers, for which all zeros is a value.
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waits for our own child; status and usage are written by the kernel.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if pid < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{python} {} failed (status {status:#x})", preload.map_or("under glibc".to_string(), |(_, p)| format!("under {p}"))));
    }
    Ok((wall, usage.ru_maxrss as u64))
}

/// The row's figures per column ("glibc" and each policy): best wall time
/// in ms and peak RSS in MiB, over `runs` interleaved runs.
pub fn measure(so: &str, python: &str, runs: u32) -> Result<Vec<(String, f64, f64)>, String> {
    let mut columns: Vec<(String, Option<(&str, &str)>)> = vec![("glibc".into(), None)];
    for p in heaplab::PolicyKind::ALL {
        columns.push((p.name().into(), Some((so, p.name()))));
    }
    let mut best = vec![(Duration::MAX, 0u64); columns.len()];
    for _ in 0..runs {
        for (i, (_, preload)) in columns.iter().enumerate() {
            let (wall, rss) = run_once(python, *preload)?;
            best[i] = (best[i].0.min(wall), best[i].1.max(rss));
        }
    }
    Ok(columns.into_iter().zip(best).map(|((name, _), (wall, rss))| (name, wall.as_secs_f64() * 1e3, rss as f64 / 1024.0)).collect())
}

/// The row as a Markdown table (two lines of figures: wall time, peak RSS).
pub fn table(figures: &[(String, f64, f64)]) -> String {
    let head: Vec<&str> = figures.iter().map(|f| f.0.as_str()).collect();
    let mut out = format!("| real program: python3 workload (PYTHONMALLOC=malloc), LD_PRELOAD | unit | {} |\n", head.join(" | "));
    out += &format!("| --- | --- |{}\n", " ---: |".repeat(head.len()));
    out += &format!("| wall time, best run | ms | {} |\n", figures.iter().map(|f| format!("{:.0}", f.1)).collect::<Vec<_>>().join(" | "));
    out += &format!("| peak RSS | MiB | {} |\n", figures.iter().map(|f| format!("{:.1}", f.2)).collect::<Vec<_>>().join(" | "));
    out
}
