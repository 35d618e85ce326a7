//! Collects results and renders `BENCHMARKS.md`.

use std::fmt::Write as _;

/// One line of the report.
pub struct Row {
    pub group: &'static str,
    pub what: String,
    pub value: String,
    pub baseline: String,
    pub ratio: f64,
    /// (comparison, target), e.g. (">=", 1.5).
    pub target: Option<(&'static str, f64)>,
}

impl Row {
    /// A row of two times in microseconds, for context: no target.
    pub fn micros(group: &'static str, what: impl Into<String>, value: f64, baseline: f64) -> Self {
        Self {
            group,
            what: what.into(),
            value: format!("{value:.1}us"),
            baseline: format!("{baseline:.1}us"),
            ratio: value / baseline,
            target: None,
        }
    }
}

pub struct Report {
    quick: bool,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    pub fn new(quick: bool) -> Self {
        Self {
            quick,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, row: Row) {
        let met = match row.target {
            Some((">=", t)) => format!(
                " (target >= {t}: {})",
                if row.ratio >= t { "met" } else { "MISSED" }
            ),
            Some(("<=", t)) => format!(
                " (target <= {t}: {})",
                if row.ratio <= t { "met" } else { "MISSED" }
            ),
            _ => String::new(),
        };
        println!(
            "{:<10} {:<55} {:>10} vs {:>10} = {:.2}x{met}",
            row.group, row.what, row.value, row.baseline, row.ratio
        );
        self.rows.push(row);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("note: {note}");
        self.notes.push(note);
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Benchmarks\n");
        let _ = writeln!(
            s,
            "Written by `scripts/bench.sh{}` on {} ({}).\n",
            if self.quick { " --quick" } else { "" },
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            machine()
        );
        if self.quick {
            let _ = writeln!(
                s,
                "**Quick run: short slices and small sizes; use the full run for figures.**\n"
            );
        }
        let _ = writeln!(
            s,
            "Every figure is a ratio against a baseline measured in the same run on the same server, variants \
             interleaved and the median of the rounds kept. Absolute values are for context only.\n"
        );
        let _ = writeln!(
            s,
            "| group | measurement | value | baseline | ratio | target |"
        );
        let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- |");
        for r in &self.rows {
            let target = match r.target {
                Some((cmp, t)) => {
                    let ok = if cmp == ">=" {
                        r.ratio >= t
                    } else {
                        r.ratio <= t
                    };
                    format!("{cmp} {t} ({})", if ok { "met" } else { "**missed**" })
                }
                None => "-".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.2}x | {} |",
                r.group, r.what, r.value, r.baseline, r.ratio, target
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}")
}
