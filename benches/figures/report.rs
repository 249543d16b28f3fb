//! Figures beside their targets and same-run references, as a Markdown table.

use std::time::{Duration, Instant};

pub struct Figure {
    pub name: String,
    pub measured: String,
    pub target: String,
    pub reference: String,
    /// `None` when the figure has no pass/fail target.
    pub met: Option<bool>,
}

impl Figure {
    pub fn new(name: impl Into<String>, measured: impl Into<String>) -> Figure {
        Figure {
            name: name.into(),
            measured: measured.into(),
            target: "—".into(),
            reference: "—".into(),
            met: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>, met: bool) -> Figure {
        self.target = target.into();
        self.met = Some(met);
        self
    }

    pub fn reference(mut self, reference: impl Into<String>) -> Figure {
        self.reference = reference.into();
        self
    }
}

pub fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

pub fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// (p50, p99) of some timings.
pub fn percentiles(samples: &[Duration]) -> (Duration, Duration) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |p: f64| {
        let index = ((sorted.len().max(1) as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    };
    (at(0.5), at(0.99))
}

pub fn print(title: &str, figures: &[Figure]) {
    println!("\n{title}\n");
    println!("| figure | measured | target | met | reference (same run) |");
    println!("| --- | --- | --- | --- | --- |");
    for figure in figures {
        let met = match figure.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        println!(
            "| {} | {} | {} | {met} | {} |",
            figure.name, figure.measured, figure.target, figure.reference
        );
    }
}

/// The fastest of `runs` runs of `work`, with what that run gave.
pub fn best_of<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs {
        let started = Instant::now();
        let out = work();
        let took = started.elapsed();
        if best.as_ref().is_none_or(|(fastest, _)| took < *fastest) {
            best = Some((took, out));
        }
    }
    best.expect("at least one run")
}
