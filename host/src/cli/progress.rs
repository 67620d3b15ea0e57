//! The progress bar `covenant report` shows on a terminal while it reads:
//! bytes read, events per second and the time left; then a spinner while
//! the rules finish their work.
//!
//! It draws on standard error only, and the command shows it only when
//! standard error is a terminal, so piped or redirected output never
//! carries it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::events::{Pass, ReadProgress};

/// A terminal progress bar fed by the event reader. Clones share one bar.
#[derive(Clone)]
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
    records: Arc<AtomicU64>,
    /// Reads begun so far: a log can be read more than once.
    passes: Arc<AtomicU32>,
}

impl ProgressBar {
    /// A hidden bar that appears once reading begins.
    pub fn start() -> ProgressBar {
        let bar = indicatif::ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        ProgressBar {
            bar,
            records: Arc::new(AtomicU64::new(0)),
            passes: Arc::new(AtomicU32::new(0)),
        }
    }

    /// Clears the bar, leaving the terminal as it was.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn style(&self, total_known: bool, pass: Pass, number: u32) -> ProgressStyle {
        let records = self.records.clone();
        ProgressStyle::with_template(&template(total_known, pass, number))
            .expect("the template is valid")
            .with_key(
                "events",
                move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let count = records.load(Ordering::Relaxed);
                    let seconds = state.elapsed().as_secs_f64();
                    let rate = if seconds > 0.0 {
                        count as f64 / seconds
                    } else {
                        0.0
                    };
                    let _ = write!(out, "{count} events ({rate:.0}/s)");
                },
            )
    }
}

impl ReadProgress for ProgressBar {
    fn begin(&self, pass: Pass, total_bytes: Option<u64>) {
        let number = self.passes.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.set_position(0);
        self.bar.reset_eta();
        self.records.store(0, Ordering::Relaxed);
        self.bar
            .set_style(self.style(total_bytes.is_some(), pass, number));
        if let Some(total) = total_bytes {
            self.bar.set_length(total);
        }
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    fn bytes(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn record(&self) {
        self.records.fetch_add(1, Ordering::Relaxed);
    }

    fn done(&self) {
        let template = "{spinner} read {bytes}, {msg}";
        self.bar
            .set_style(ProgressStyle::with_template(template).expect("the template is valid"));
        let records = self.records.load(Ordering::Relaxed);
        self.bar.set_message(format!(
            "{records} records; checking them against the rules"
        ));
    }
}

/// The bar's template for a read. Each read after the first says why the
/// log is read again, since the bar has gone back to the start.
fn template(total_known: bool, pass: Pass, number: u32) -> String {
    let what = match pass {
        Pass::Stream if number == 1 => "reading".to_string(),
        Pass::Stream => format!("pass {number}: reading"),
        Pass::FindInvalid => format!("pass {number}: finding the invalid records to skip:"),
        Pass::Sort => {
            format!("pass {number}: the log is out of time order, reading it again to sort it:")
        }
        Pass::Place => format!("pass {number}: reading again the events findings name:"),
    };
    if total_known {
        format!("{{spinner}} {what} {{bytes}}/{{total_bytes}} {{events}} {{wide_bar}} {{eta}} left")
    } else {
        format!("{{spinner}} {what} {{bytes}} {{events}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pass_after_the_first_says_why_the_bar_went_back() {
        assert!(
            template(true, Pass::Stream, 1).starts_with("{spinner} reading {bytes}/{total_bytes}")
        );
        assert!(
            template(false, Pass::Sort, 2)
                .contains("pass 2: the log is out of time order, reading it again to sort it")
        );
        assert!(
            template(false, Pass::Place, 3)
                .contains("pass 3: reading again the events findings name")
        );
        for pass in [Pass::Stream, Pass::FindInvalid, Pass::Sort, Pass::Place] {
            for total in [true, false] {
                ProgressStyle::with_template(&template(total, pass, 2)).expect("a valid template");
            }
        }
    }
}
