//! Activation log lines in OpenWhisk's format, with the per-activation size limit.

use std::time::SystemTime;

/// Which stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// `console.log`, stdout.
    Stdout,
    /// `console.error`, stderr.
    Stderr,
}

impl LogStream {
    fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

/// Formats one line as OpenWhisk stores it: the RFC 3339 timestamp with nanoseconds, padded
/// to 30 characters, then `stdout: ` or `stderr: ` and the text.
pub fn format_log_line(at: SystemTime, stream: LogStream, text: &str) -> String {
    let ts = chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string();
    format!("{ts:<30} {}: {text}", stream.as_str())
}

/// Collects an activation's log lines up to `limits.logs`, appending OpenWhisk's truncation
/// notice once when the limit is crossed. Lives for one activation.
///
/// A line counts as what is kept of it, its timestamp and stream included (about 40 bytes
/// more than its text), so what an activation's logs hold in memory and in the store stays
/// within the limit however the text is split: counted by their text alone, millions of
/// empty lines would cost nothing and hold gigabytes.
#[derive(Debug)]
pub struct LogCollector {
    lines: Vec<String>,
    used: usize,
    limit: usize,
    truncated: bool,
}

impl LogCollector {
    /// A collector that keeps at most `limit_bytes` of log text (0 keeps nothing).
    pub fn new(limit_bytes: usize) -> Self {
        LogCollector {
            lines: Vec::new(),
            used: 0,
            limit: limit_bytes,
            truncated: false,
        }
    }

    /// Records `text` (split on newlines) from `stream`, timestamped now.
    pub fn push(&mut self, stream: LogStream, text: &str) {
        self.push_at(SystemTime::now(), stream, text);
    }

    /// Records `text` (split on newlines) from `stream`, timestamped `now` (for lines whose
    /// time was taken where they were written, e.g. by a container engine).
    pub fn push_at(&mut self, now: SystemTime, stream: LogStream, text: &str) {
        if self.limit == 0 || self.truncated {
            return;
        }
        for line in text.split('\n') {
            let line = format_log_line(now, stream, line);
            if self.used + line.len() > self.limit {
                self.truncated = true;
                let notice = format!(
                    "Logs were truncated because the total bytes size exceeds the limit of {} bytes.",
                    self.limit
                );
                self.lines
                    .push(format_log_line(now, LogStream::Stderr, &notice));
                return;
            }
            self.used += line.len();
            self.lines.push(line);
        }
    }

    /// Whether anything was dropped.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The collected lines.
    pub fn finish(self) -> Vec<String> {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn line_format_matches_openwhisk() {
        let at = UNIX_EPOCH + Duration::new(1_704_067_200, 123_456_789);
        let line = format_log_line(at, LogStream::Stdout, "hello");
        assert_eq!(line, "2024-01-01T00:00:00.123456789Z stdout: hello");
    }

    #[test]
    fn collector_splits_lines_and_truncates_once() {
        // Room for two stored lines of three characters (42 bytes each), not three.
        let mut c = LogCollector::new(100);
        c.push(LogStream::Stdout, "abc\ndef");
        c.push(LogStream::Stderr, "too long line");
        c.push(LogStream::Stdout, "dropped");
        assert!(c.truncated());
        let lines = c.finish();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("stdout: abc"));
        assert!(lines[1].ends_with("stdout: def"));
        assert!(lines[2].ends_with(
            "stderr: Logs were truncated because the total bytes size exceeds the limit of 100 bytes."
        ));
    }

    #[test]
    fn empty_lines_count_as_what_is_kept_of_them() {
        let mut c = LogCollector::new(1 << 20);
        c.push(LogStream::Stdout, &"\n".repeat(10 << 20));
        assert!(c.truncated());
        let lines = c.finish();
        let kept: usize = lines.iter().map(String::len).sum();
        assert!(
            kept <= (1 << 20) + 200,
            "{kept} bytes in {} lines",
            lines.len()
        );
    }

    #[test]
    fn zero_limit_collects_nothing() {
        let mut c = LogCollector::new(0);
        c.push(LogStream::Stdout, "x");
        assert!(c.finish().is_empty());
    }
}
